import Foundation

/// Zeroes elements with probability `p` and scales the rest by 1/(1−p) in training mode; the
/// identity in eval mode. Owns its seeded generator so runs are reproducible.
public final class Dropout: Module {
    public let p: Float
    public var generator: SeededGenerator

    public init(p: Float, seed: UInt64 = 0) {
        precondition(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got \(p)")
        self.p = p
        self.generator = SeededGenerator(seed: seed)
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        dropout(x, p: p, training: isTraining, generator: &generator)
    }
}
