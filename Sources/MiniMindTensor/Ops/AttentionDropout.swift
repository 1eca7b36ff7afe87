import Foundation

/// Dropout on attention probabilities, as PyTorch's `scaled_dot_product_attention(dropout_p:)` and
/// upstream MiniMind's `attn_dropout`: after the softmax each probability is zeroed with probability
/// `p` and the survivors are scaled by 1/(1 − p); the output is (P ⊙ mask) · V.
///
/// The fused kernel never stores the probabilities, so it cannot store their mask either: each
/// probability row (batch, query head, query) draws its mask from its own `SeededGenerator`, seeded
/// from `seed` and the row's index, over its visible keys in key order. The forward and the
/// backward (which recomputes the probabilities) therefore see the same mask, whatever the
/// threads and blocks, and one seed reproduces the pass.
public struct AttentionDropout: Sendable {
    public let p: Float
    public let seed: UInt64

    public init(p: Float, seed: UInt64) {
        precondition(p >= 0 && p < 1, "AttentionDropout: p must be in [0, 1), got \(p)")
        self.p = p
        self.seed = seed
    }

    /// The generator of probability row `row` (((b · Hq) + head) · Tq + query).
    @inline(__always)
    func generator(row: Int) -> SeededGenerator {
        SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: row) &* 0xD1B5_4A32_D192_ED03))
    }

    /// dst[j] = src[j] · mask_j for the visible keys 0..<visible and 0 for visible..<count
    /// (`src` may be `dst`). mask_j is 0 with probability p, else 1/(1 − p).
    func apply(row: Int, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, visible: Int, count: Int) {
        var g = generator(row: row)
        let keepScale = 1 / (1 - p)
        for j in 0..<visible { dst[j] = g.nextUniform() < p ? 0 : src[j] * keepScale }
        if visible < count { (dst + visible).update(repeating: 0, count: count - visible) }
    }

    /// The mask of row `row` over its `visible` keys: 0 or 1/(1 − p) each (for tests and references).
    public func mask(row: Int, visible: Int) -> [Float] {
        var g = generator(row: row)
        let keepScale = 1 / (1 - p)
        return (0..<visible).map { _ in g.nextUniform() < p ? 0 : keepScale }
    }
}
