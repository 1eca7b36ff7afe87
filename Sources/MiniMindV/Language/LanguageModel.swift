import Foundation

/// A decoder that maps token embeddings (with an optional KV cache) to next-token logits.
/// MiniMindLM implements it; a user model can too and plug into MiniMindVLM and the generator.
public protocol LanguageModel: AnyObject {
    var config: LanguageModelConfig { get }
    /// The token embedding table [vocab, hidden] (tied to the output head in MiniMind).
    var embeddingTable: Tensor { get }
    /// ids [B·T] → embeddings [B, T, hidden].
    func embed(_ ids: [Int], batch: Int) -> Tensor
    /// Full-sequence forward with autograd: embeddings [B, T, hidden] → logits [B, T, vocab].
    func logits(embeddings: Tensor, keyPaddingMask: Tensor?) -> Tensor
    /// Cached forward (inference): appends to `cache`, returns logits of the requested positions.
    func logits(embeddings: Tensor, cache: KVCache, keyMask: [Float]?, positions: LogitPositions) -> Tensor
    func makeCache(batch: Int, maxLength: Int) -> KVCache
    /// Sum of the MoE auxiliary losses of the last training forward (nil for dense models).
    var auxiliaryLoss: Tensor? { get }
}

/// Which positions a cached forward turns into logits: all of them, or only each sequence's last
/// (generation needs only the last; the head GEMM over a long prompt is then skipped).
public enum LogitPositions: Sendable { case all, last }
