import Foundation

/// Preallocated keys and values of every decoder layer, laid out [B, Hkv, maxLength, D] so each
/// head's first `length` rows are contiguous (one GEMM per head reads them).
public final class KVCache {
    public let batch: Int
    public let maxLength: Int
    public let kvHeads: Int
    public let headDim: Int
    public private(set) var keys: [Tensor]
    public private(set) var values: [Tensor]
    /// Tokens already stored (the position of the next token).
    public internal(set) var length = 0

    public init(layers: Int, batch: Int, kvHeads: Int, headDim: Int, maxLength: Int) {
        self.batch = batch
        self.maxLength = maxLength
        self.kvHeads = kvHeads
        self.headDim = headDim
        keys = (0..<layers).map { _ in Tensor.zeros([batch, kvHeads, maxLength, headDim]) }
        values = (0..<layers).map { _ in Tensor.zeros([batch, kvHeads, maxLength, headDim]) }
    }

    public var remaining: Int { maxLength - length }

    /// Forgets everything (the buffers are reused).
    public func reset() { length = 0 }

    /// Forgets everything and zeroes the buffers (a cache handed from one request to another).
    public func clear() {
        for t in keys + values { t.mutablePointer.update(repeating: 0, count: t.count) }
        length = 0
    }

    /// Keeps only the first `n` tokens (a chat that rewinds to a common prefix).
    public func truncate(to n: Int) {
        precondition(n >= 0 && n <= length, "KVCache.truncate: \(n) outside 0...\(length)")
        length = n
    }

    /// Bytes held by the buffers.
    public var byteCount: Int { (keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count }) * 4 }

    /// Replaces the contents with the first `count` tokens of `source` (same layers and shape, batch 1):
    /// a prompt prefix another request computed (`PrefixCache`).
    public func copyPrefix(of source: KVCache, count: Int) {
        precondition(batch == 1 && source.batch == 1 && source.keys.count == keys.count && source.kvHeads == kvHeads
                     && source.headDim == headDim && count >= 0 && count <= min(source.length, maxLength),
                     "KVCache.copyPrefix: \(count) tokens from a cache of \(source.length) into one of \(maxLength)")
        let d = headDim
        for layer in keys.indices {
            for (dst, src) in [(keys[layer], source.keys[layer]), (values[layer], source.values[layer])] {
                for h in 0..<kvHeads {
                    (dst.mutablePointer + h * maxLength * d).update(from: src.pointer + h * source.maxLength * d, count: count * d)
                }
            }
        }
        length = count
    }

    /// Writes k, v of shape [B, T, Hkv, D] for `layer` at positions length..<length+T.
    func store(layer: Int, k: Tensor, v: Tensor) {
        let t = k.shape[1], d = headDim
        let kd = keys[layer].mutablePointer, vd = values[layer].mutablePointer
        let ks = k.pointer, vs = v.pointer
        for b in 0..<batch {
            for i in 0..<t {
                for h in 0..<kvHeads {
                    let src = ((b * t + i) * kvHeads + h) * d
                    let dst = ((b * kvHeads + h) * maxLength + length + i) * d
                    (kd + dst).update(from: ks + src, count: d)
                    (vd + dst).update(from: vs + src, count: d)
                }
            }
        }
    }
}
