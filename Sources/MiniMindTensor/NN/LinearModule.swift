import Foundation

/// y = x·Wᵀ + b with PyTorch's layout: `weight` [out, in], `bias` [out]. Keys: `weight`, `bias`.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// PyTorch's default initialisation (`kaiming_uniform_(a=√5)`): weight and bias uniform in
    /// [−1/√in, 1/√in).
    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
                            generator: inout SeededGenerator) {
        let bound = ParameterInit.linearBound(fanIn: inFeatures)
        let w = Tensor.uniform([outFeatures, inFeatures], low: -bound, high: bound, generator: &generator)
        let b = bias ? Tensor.uniform([outFeatures], low: -bound, high: bound, generator: &generator) : nil
        self.init(weight: w, bias: b)
    }

    /// Zero-filled weights, for modules whose values come from `loadStateDict` (skips random init).
    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.init(weight: .zeros([outFeatures, inFeatures]), bias: bias ? .zeros([outFeatures]) : nil)
    }

    /// Wraps existing tensors, e.g. an LM head tied to the embedding table (`weight` is shared).
    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "Linear: weight must be [out, in], got \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "Linear: bias \(bias.shape) does not match weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
        super.init()
        register(parameter: "weight", weight)
        if let bias { register(parameter: "bias", bias) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}
