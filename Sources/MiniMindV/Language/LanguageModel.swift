import Foundation

/// A decoder that maps token embeddings (with an optional KV cache) to next-token logits: the seam
/// a Swift program plugs its own language model into `MiniMindVLM`, `VLMTrainer` and `Generator`.
/// It is a `Module` whose parameters carry the release keys (`model.*`, `lm_head.*`): the VLM
/// inlines it (`Module.register(inlined:)`), so the model's state dict is upstream's layout and
/// a training recipe's key prefixes select its layers. `MiniMindLM` implements it.
public protocol LanguageModel: Module {
    var config: LanguageModelConfig { get }
    /// The token embedding table [vocab, hidden] (tied to the output head in MiniMind's releases).
    var embeddingTable: Tensor { get }
    /// ids [B·T] → embeddings [B, T, hidden].
    func embed(_ ids: [Int], batch: Int) -> Tensor
    /// Full-sequence forward with autograd: embeddings [B, T, hidden] → logits [B, T, vocab].
    func logits(embeddings: Tensor, keyPaddingMask: Tensor?) -> Tensor
    /// Logits [rows.count, vocab] of only the flat positions `rows` (b·T + t) of a full-sequence
    /// forward with autograd (training computes the head only where a label counts).
    func logits(embeddings: Tensor, keyPaddingMask: Tensor?, rows: [Int]) -> Tensor
    /// Cached forward (inference): appends to `cache`, returns logits of the requested positions.
    func logits(embeddings: Tensor, cache: KVCache, keyMask: [Float]?, positions: LogitPositions) -> Tensor
    /// One forward for independent sequences, each in its own batch-1 cache: `embeddings` packs
    /// `counts[i]` new tokens of sequence i after those of the sequences before it (N·hidden values);
    /// returns the logits [S, vocab] of each sequence's last new token. Continuous batching runs its
    /// prefills and decode steps on it.
    func lastLogits(packed embeddings: Tensor, counts: [Int], caches: [KVCache]) -> Tensor
    func makeCache(batch: Int, maxLength: Int) -> KVCache
    /// Sum of the MoE auxiliary losses of the last training forward (nil for dense models).
    var auxiliaryLoss: Tensor? { get }
    /// Precision of the weights decode steps read (`.f32` for a model without packed decoding).
    var decodeDType: DecodeDType { get }
    /// Packs the weights decode steps read (a model without packed decoding may ignore it).
    func setDecodeDType(_ dtype: DecodeDType)
}

extension LanguageModel {
    /// One decode step for independent sequences, row i of `embeddings` [B, 1, hidden] appended to
    /// `caches[i]` (each batch 1): logits [B, vocab].
    public func logits(embeddings: Tensor, caches: [KVCache]) -> Tensor {
        precondition(embeddings.rank == 3 && embeddings.shape[0] == caches.count && embeddings.shape[1] == 1,
                     "LanguageModel: embeddings \(embeddings.shape) do not match \(caches.count) caches of one new token")
        return lastLogits(packed: embeddings, counts: [Int](repeating: 1, count: caches.count), caches: caches)
    }

    public func logits(embeddings: Tensor) -> Tensor { logits(embeddings: embeddings, keyPaddingMask: nil) }

    public func logits(embeddings: Tensor, cache: KVCache) -> Tensor {
        logits(embeddings: embeddings, cache: cache, keyMask: nil, positions: .all)
    }

    public func logits(embeddings: Tensor, cache: KVCache, positions: LogitPositions) -> Tensor {
        logits(embeddings: embeddings, cache: cache, keyMask: nil, positions: positions)
    }

    public func logits(embeddings: Tensor, cache: KVCache, keyMask: [Float]?) -> Tensor {
        logits(embeddings: embeddings, cache: cache, keyMask: keyMask, positions: .all)
    }
}

/// Which positions a cached forward turns into logits: all of them, or only each sequence's last
/// (generation needs only the last; the head GEMM over a long prompt is then skipped).
public enum LogitPositions: Sendable { case all, last }
