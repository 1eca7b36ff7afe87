import Foundation

/// A lookup table `weight` [vocab, dim] (key `weight`); rows are picked by token id.
public final class Embedding: Module {
    public let weight: Parameter
    public var vocabularySize: Int { weight.shape[0] }
    public var dimension: Int { weight.shape[1] }

    /// PyTorch's default initialisation: N(0, 1).
    public convenience init(_ vocabularySize: Int, _ dimension: Int, generator: inout SeededGenerator) {
        self.init(weight: .randn([vocabularySize, dimension], generator: &generator))
    }

    /// Zero-filled, for tables whose values come from `loadStateDict`.
    public convenience init(_ vocabularySize: Int, _ dimension: Int) {
        self.init(weight: .zeros([vocabularySize, dimension]))
    }

    public init(weight: Tensor) {
        precondition(weight.rank == 2, "Embedding: weight must be [vocab, dim], got \(weight.shape)")
        self.weight = weight
        super.init()
        register(parameter: "weight", weight)
    }

    /// [ids.count, dim].
    public func callAsFunction(_ ids: [Int]) -> Tensor { embedding(ids: ids, weight: weight) }

    /// Ids laid out as `shape` (e.g. [batch, seq]) give `shape + [dim]`.
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor { embedding(ids: ids, shape: shape, weight: weight) }
}
