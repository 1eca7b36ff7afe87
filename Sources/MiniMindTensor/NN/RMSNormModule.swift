import Foundation

/// Root-mean-square normalisation over the last axis with a learned scale `weight` [dim] (ones).
public final class RMSNorm: Module {
    public let weight: Parameter
    public let eps: Float

    public init(_ dimension: Int, eps: Float = 1e-5) {
        self.weight = .ones([dimension])
        self.eps = eps
        super.init()
        register(parameter: "weight", weight)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { rmsNorm(x, weight: weight, eps: eps) }
}
