import Foundation

/// The dropout a MiniMind language model applies while it trains, where upstream's model does:
/// on the token embeddings (before images are spliced in), on the attention block's output after
/// `o_proj` (upstream's `resid_dropout`) and on the feed-forward's output. Upstream also drops
/// attention probabilities (`attn_dropout`); the fused attention kernel here never holds them, so
/// that one is not applied. Identity in eval mode and at p = 0, so inference is unchanged.
///
/// The masks come from one generator in forward order; the trainer reseeds it for every
/// micro-batch from (recipe seed, micro-batch, rank), so a run, and a resumed run, draws the same masks.
public final class TrainingDropout {
    public let p: Float
    var generator: SeededGenerator

    public init(p: Float, seed: UInt64) {
        precondition(p >= 0 && p < 1, "TrainingDropout: p must be in [0, 1), got \(p)")
        self.p = p
        generator = SeededGenerator(seed: seed)
    }

    public func reseed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

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
