import Foundation

/// y = x·Wᵀ + b with PyTorch's layout: `weight` [out, in], `bias` [out]. Keys: `weight`, `bias`.
/// Open so that a layer with another kernel over the same parameters (a packed decode copy) can
/// replace it in a model (`Module.replace(child:with:)`) while every caller keeps calling `layer(x)`.
open class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inFeatures: Int
    public let outFeatures: Int

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
        inFeatures = weight.shape[1]
        outFeatures = weight.shape[0]
        super.init()
        register(parameter: "weight", weight)
        if let bias { register(parameter: "bias", bias) }
    }

    /// For subclasses that keep W [out, in] in another form (quantised, factorised) and override
    /// `callAsFunction` and `accumulate`: `weight` is an empty [out, 0] placeholder under no key,
    /// so the state dict holds only what the subclass registers (and `bias`).
    public init(outFeatures: Int, inFeatures: Int, bias: Tensor?) {
        precondition(outFeatures >= 0 && inFeatures >= 0, "Linear: negative size [\(outFeatures), \(inFeatures)]")
        if let bias { precondition(bias.shape == [outFeatures], "Linear: bias \(bias.shape) does not match \(outFeatures) outputs") }
        weight = Tensor.zeros([outFeatures, 0])
        weight.requiresGrad = false
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        super.init()
        if let bias { register(parameter: "bias", bias) }
    }

    /// False for the subclasses whose `weight` is the placeholder (no dense float32 W to read or pack).
    public var storesDenseWeight: Bool { weight.shape == [outFeatures, inFeatures] }

    /// A layer over the same weight and bias tensors (same keys; trainability kept).
    public convenience init(sharing other: Linear) {
        let trainable = (other.weight.requiresGrad, other.bias?.requiresGrad)
        self.init(weight: other.weight, bias: other.bias)
        weight.requiresGrad = trainable.0
        if let b = trainable.1 { bias?.requiresGrad = b }
    }

    open func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    /// y += x·Wᵀ + b in place, for inference (no autograd): a residual connection fused into the
    /// GEMM (beta = 1), saving the output tensor and the separate add pass. x [..., in], y [..., out].
    open func accumulate(_ x: Tensor, into y: Tensor) {
        let outF = outFeatures, inF = inFeatures, rows = x.count / Swift.max(inF, 1)
        precondition(x.count == rows * inF && y.count == rows * outF,
                     "Linear.accumulate: input \(x.shape), weight \(weight.shape) and output \(y.shape) do not match")
        BLAS.gemm(transB: true, m: rows, n: outF, k: inF, a: x.pointer, b: weight.pointer, beta: 1, c: y.mutablePointer)
        addBias(rows: rows, into: y.mutablePointer)
    }

    /// y[r] += bias for each of `rows` output rows (nothing without a bias).
    public func addBias(rows: Int, into y: UnsafeMutablePointer<Float>) {
        guard let bias else { return }
        let outF = outFeatures
        for r in 0..<rows { Kernels.addInPlace(y + r * outF, bias.pointer, count: outF) }
    }
}

extension Module {
    /// Puts `transform(name, layer)` in place of the child linear `name` (same keys) and returns the
    /// layer now in use, for modules that keep their layers in properties (`swapLinears`).
    public func swap(child name: String, _ layer: Linear, _ transform: (String, Linear) -> Linear) -> Linear {
        let new = transform(name, layer)
        if new !== layer { replace(child: name, with: new) }
        return new
    }
}
