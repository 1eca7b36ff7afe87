import Foundation

// Rotary position embeddings (RoPE) for q and k laid out [..., T, H, D]: the shape right after the
// q/k projection is reshaped to heads, before the transpose to [B, H, T, D] for attention.

/// YaRN frequency scaling as MiniMind applies it at inference (Docs/Model.md, "Language model"). Defaults are MiniMind's.
public struct YaRNConfig: Sendable, Equatable {
    public var factor: Double
    public var originalMaxPositions: Int
    public var betaFast: Double
    public var betaSlow: Double
    /// Multiplies cos and sin (MiniMind's `attention_factor`, 1.0 by default).
    public var attentionFactor: Double

    public init(factor: Double = 16, originalMaxPositions: Int = 2048, betaFast: Double = 32,
                betaSlow: Double = 1, attentionFactor: Double = 1) {
        self.factor = factor
        self.originalMaxPositions = originalMaxPositions
        self.betaFast = betaFast
        self.betaSlow = betaSlow
        self.attentionFactor = attentionFactor
    }
}

/// How the head dimension is paired for rotation.
public enum RoPEStyle: Sendable {
    /// Pairs (x[i], x[i + D/2]): `x·cos + rotate_half(x)·sin` (transformers Llama/Qwen3, MiniMind).
    case halfSplit
    /// Pairs (x[2i], x[2i+1]) as complex numbers (Meta Llama, legacy MiniMind2 checkpoints).
    case interleaved
}

/// Precomputed inverse frequencies and cos/sin tables.
///
/// The arithmetic follows PyTorch in float32, step by step, so tables match transformers'
/// `LlamaRotaryEmbedding` and MiniMind's `precompute_freqs_cis`:
/// `inv_freq = 1 / theta^(float32(2i)/D)`, optional YaRN ramp, `angle = float32(pos) · inv_freq`
/// (a float32 product), then cos and sin. Each float32 step is rounded from a Double evaluation.
public struct RoPETable: @unchecked Sendable {
    public let headDim: Int
    public let maxPositions: Int
    public let theta: Double
    public let yarn: YaRNConfig?
    /// Whether YaRN actually changed the frequencies (MiniMind applies it only when maxPositions > original).
    public let yarnApplied: Bool
    /// [headDim / 2] inverse frequencies in float32.
    public let invFreq: [Float]
    /// [maxPositions, headDim / 2]; the full-width tables are these halves repeated twice.
    public let cos: Tensor
    public let sin: Tensor

    public init(headDim: Int, maxPositions: Int, theta: Double, yarn: YaRNConfig? = nil) {
        precondition(headDim > 0 && headDim % 2 == 0, "RoPETable: headDim must be positive and even, got \(headDim)")
        precondition(maxPositions > 0, "RoPETable: maxPositions must be positive, got \(maxPositions)")
        precondition(theta > 1, "RoPETable: theta must be > 1, got \(theta)")
        self.headDim = headDim
        self.maxPositions = maxPositions
        self.theta = theta
        self.yarn = yarn
        let half = headDim / 2
        var freqs = RoPETable.baseInverseFrequencies(headDim: headDim, theta: theta)
        var applied = false
        var attention: Float = 1
        if let yarn {
            attention = Float(yarn.attentionFactor)
            // MiniMind's condition: `if end / orig_max > 1.0`.
            if Double(maxPositions) / Double(yarn.originalMaxPositions) > 1 {
                let factors = RoPETable.yarnFactors(headDim: headDim, theta: theta, yarn: yarn)
                for i in 0..<half { freqs[i] = freqs[i] * factors[i] }
                applied = true
            }
        }
        yarnApplied = applied
        invFreq = freqs
        let cosT = Tensor.uninitialized([maxPositions, half]), sinT = Tensor.uninitialized([maxPositions, half])
        let cp = cosT.mutablePointer, sp = sinT.mutablePointer
        freqs.withUnsafeBufferPointer { f in
            Threads.parallelFor(maxPositions, minChunk: 256) { range in
                for p in range {
                    let pos = Float(p)
                    for i in 0..<half {
                        let angle = Double(pos * f[i])  // float32 product, like torch.outer on float32
                        cp[p * half + i] = Float(Foundation.cos(angle)) * attention
                        sp[p * half + i] = Float(Foundation.sin(angle)) * attention
                    }
                }
            }
        }
        cos = cosT
        sin = sinT
    }

    /// `1 / theta^(arange(0, D, 2).float() / D)` evaluated as PyTorch does in float32.
    public static func baseInverseFrequencies(headDim: Int, theta: Double) -> [Float] {
        let base = Double(Float(theta))
        return (0..<(headDim / 2)).map { i in
            let exponent = Float(2 * i) / Float(headDim)
            let power = Float(Foundation.pow(base, Double(exponent)))
            return 1 / power
        }
    }

    /// The YaRN multipliers `1 - ramp_i + ramp_i / factor` (Docs/Model.md, "Language model"), float32 like MiniMind's torch code.
    public static func yarnFactors(headDim: Int, theta: Double, yarn: YaRNConfig) -> [Float] {
        let half = headDim / 2
        func invDim(_ b: Double) -> Double {
            Double(headDim) * Foundation.log(Double(yarn.originalMaxPositions) / (b * 2 * Double.pi)) / (2 * Foundation.log(theta))
        }
        let low = Swift.max(Int(Foundation.floor(invDim(yarn.betaFast))), 0)
        let high = Swift.min(Int(Foundation.ceil(invDim(yarn.betaSlow))), half - 1)
        let span = Float(Swift.max(Double(high - low), 0.001))
        let factor = Float(yarn.factor)
        return (0..<half).map { i in
            let ramp = Swift.min(Swift.max((Float(i) - Float(low)) / span, 0), 1)
            return (1 - ramp) + ramp / factor
        }
    }
}

/// Rotates q or k laid out [..., T, H, D] (any leading axes, typically [B, T, H, D]); the token at
/// index t sits at position `offset + t` (offset = the KV-cache length during decoding).
/// Backward applies the inverse rotation to the incoming gradient.
public func applyRoPE(_ x: Tensor, table: RoPETable, offset: Int = 0, style: RoPEStyle = .halfSplit) -> Tensor {
    precondition(x.rank >= 3, "applyRoPE: input must be [..., T, H, D], got \(x.shape)")
    let d = x.shape[x.rank - 1], heads = x.shape[x.rank - 2], t = x.shape[x.rank - 3]
    precondition(d == table.headDim, "applyRoPE: input \(x.shape) has head dim \(d), table has \(table.headDim)")
    precondition(offset >= 0 && offset + t <= table.maxPositions,
                 "applyRoPE: positions \(offset)..<\(offset + t) exceed the table's \(table.maxPositions) positions")
    let out = Tensor.uninitialized(x.shape)
    RoPEKernel.rotate(x.pointer, out.mutablePointer, count: x.count, tokens: t, heads: heads, headDim: d,
                      table: table, offset: offset, style: style, inverse: false)
    return Tensor.record("rope", output: out, inputs: [x]) { g in
        let gx = Tensor.uninitialized(g.shape)
        RoPEKernel.rotate(g.pointer, gx.mutablePointer, count: g.count, tokens: t, heads: heads, headDim: d,
                          table: table, offset: offset, style: style, inverse: true)
        return [gx]
    }
}

enum RoPEKernel {
    /// Rotates every head-dim row; `inverse` rotates by the negative angle (the transpose).
    static func rotate(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int, tokens: Int,
                       heads: Int, headDim d: Int, table: RoPETable, offset: Int, style: RoPEStyle, inverse: Bool) {
        let half = d / 2, rows = count / Swift.max(d, 1)
        let cosP = table.cos.pointer, sinP = table.sin.pointer
        let sign: Float = inverse ? -1 : 1
        Threads.parallelFor(rows, minChunk: Swift.max(1, 8192 / Swift.max(d, 1))) { range in
            for r in range {
                let pos = offset + (r / heads) % tokens
                let c = cosP + pos * half, s = sinP + pos * half
                let xr = x + r * d, o = out + r * d
                switch style {
                case .halfSplit:
                    for i in 0..<half {
                        let ci = c[i], si = sign * s[i]
                        let x1 = xr[i], x2 = xr[i + half]
                        o[i] = x1 * ci - x2 * si
                        o[i + half] = x2 * ci + x1 * si
                    }
                case .interleaved:
                    for i in 0..<half {
                        let ci = c[i], si = sign * s[i]
                        let a = xr[2 * i], b = xr[2 * i + 1]
                        o[2 * i] = a * ci - b * si
                        o[2 * i + 1] = a * si + b * ci
                    }
                }
            }
        }
    }
}
