import Foundation

/// Layer normalisation over the last axis (biased variance, as PyTorch) with `weight` [dim] (ones)
/// and `bias` [dim] (zeros). `elementwiseAffine: false` registers neither; `bias: false` only the scale.
public final class LayerNorm: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let eps: Float

    public init(_ dimension: Int, eps: Float = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.weight = elementwiseAffine ? .ones([dimension]) : nil
        self.bias = elementwiseAffine && bias ? .zeros([dimension]) : nil
        self.eps = eps
        super.init()
        if let weight { register(parameter: "weight", weight) }
        if let b = self.bias { register(parameter: "bias", b) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}
