import Foundation

/// The dropout a MiniMind language model applies while it trains, where upstream's model does:
/// on the token embeddings (before images are spliced in), on the attention probabilities
/// (upstream's `attn_dropout` / `scaled_dot_product_attention(dropout_p:)`), on the attention
/// block's output after `o_proj` (`resid_dropout`) and on the feed-forward's output. Identity in
/// eval mode and at p = 0, so inference is unchanged.
///
/// The masks come from one generator in forward order (each attention call takes one seed from it
/// for its `AttentionDropout`); the trainer reseeds it for every micro-batch from (recipe seed,
/// micro-batch, rank), so a run, and a resumed run, draws the same masks.
public final class TrainingDropout {
    public let p: Float
    var generator: SeededGenerator

    public init(p: Float, seed: UInt64) {
        precondition(p >= 0 && p < 1, "TrainingDropout: p must be in [0, 1), got \(p)")
        self.p = p
        generator = SeededGenerator(seed: seed)
    }

    public func reseed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// The probability dropout of the next attention call (nil at p = 0: the plain kernel runs).
    public func attentionDropout() -> AttentionDropout? {
        p > 0 ? AttentionDropout(p: p, seed: generator.next()) : nil
    }

    /// `x` with dropout when `training`, else `x` itself.
    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        dropout(x, p: p, training: training, generator: &generator)
    }
}

/// A language model that can apply training-time dropout (`MiniMindLM`).
public protocol DropoutTrainable: AnyObject {
    /// The dropout applied in training mode (nil: none).
    var trainingDropout: TrainingDropout? { get set }
}
