import Foundation

/// AdamW with PyTorch's semantics (`torch.optim.AdamW`, single-tensor path): decoupled weight decay
/// applied to the parameter before the moment update, bias-corrected moments, one step count per
/// parameter. A parameter whose `.grad` is nil is skipped entirely (no decay, its step does not
/// advance), exactly like PyTorch. Hyperparameters are Doubles because PyTorch computes its scalar
/// factors in Python floats and casts them to Float32 only when they meet a tensor.
public final class AdamW {
    /// Moments of one parameter, allocated at its first update. Under `shard(_:)` they cover only
    /// the parameter's owned range (shape [range.count]; [0] when this rank owns none of it), while
    /// `step` counts every update of the parameter on every rank alike.
    public final class ParameterState {
        public internal(set) var step: Int
        public let expAvg: Tensor
        public let expAvgSq: Tensor

        init(step: Int, expAvg: Tensor, expAvgSq: Tensor) {
            self.step = step
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
        }
    }

    /// The learning rate of the next `step()`; schedules set it before every step.
    public var lr: Double
    public var betas: (Double, Double)
    public var eps: Double
    public var weightDecay: Double

    /// Parameter names in registration order (checkpoint key paths, or "0", "1", … for unnamed ones).
    public let parameterNames: [String]
    public let parameters: [Tensor]
    /// State by parameter index; nil until the parameter's first update.
    public internal(set) var states: [ParameterState?]
    /// Each parameter's learning rate as a multiple of `lr` (default 1): a PyTorch parameter group
    /// whose lr is `scale · lr` (decay and step both use it), e.g. the projector's LR ratio.
    public var lrScales: [Double]
    /// ZeRO-1 (`OptimizerShard`): the element range of each parameter this optimizer updates; nil
    /// (default) updates every element. Set by `shard(_:)`.
    public private(set) var ownedRanges: [Range<Int>]?

    /// `parameters`: named tensors, usually `module.namedParameters(trainableOnly: true)`.
    public init(parameters: [(String, Tensor)], lr: Double, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 0.01) {
        precondition(lr >= 0, "AdamW: learning rate must be >= 0, got \(lr)")
        precondition(betas.0 >= 0 && betas.0 < 1 && betas.1 >= 0 && betas.1 < 1,
                     "AdamW: betas must be in [0, 1), got \(betas)")
        precondition(eps >= 0, "AdamW: eps must be >= 0, got \(eps)")
        precondition(weightDecay >= 0, "AdamW: weight decay must be >= 0, got \(weightDecay)")
        var seenNames = Set<String>(), seenTensors = Set<ObjectIdentifier>()
        for (name, tensor) in parameters {
            precondition(seenNames.insert(name).inserted, "AdamW: parameter name '\(name)' appears twice")
            precondition(seenTensors.insert(ObjectIdentifier(tensor)).inserted,
                         "AdamW: parameter '\(name)' is the same tensor as an earlier one (tied weights are listed once)")
        }
        self.parameterNames = parameters.map { $0.0 }
        self.parameters = parameters.map { $0.1 }
        self.states = Array(repeating: nil, count: parameters.count)
        self.lrScales = Array(repeating: 1, count: parameters.count)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// Unnamed parameters are named by their index, as in PyTorch's optimizer state_dict.
    public convenience init(parameters: [Tensor], lr: Double, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0.01) {
        self.init(parameters: parameters.enumerated().map { ("\($0.offset)", $0.element) },
                  lr: lr, betas: betas, eps: eps, weightDecay: weightDecay)
    }

    /// One update of every parameter that has a gradient (under `shard(_:)`: of its owned range;
    /// the step count of every parameter with a gradient advances, owned or not).
    ///
    /// - gradientScale: multiplies each gradient value as it is read (`GradientClip.scale`): the
    ///   update is the same bits as after `clipGradNorm`, and the `.grad` tensors stay unscaled.
    /// - refreshingBFloat16Copies: also writes each updated weight matrix (rank 2, updated whole:
    ///   not under `shard(_:)`) rounded to bfloat16 and registers it in `BFloat16WeightCache`, the
    ///   refresh a bf16 trainer needs after every step, without reading the weights again.
    public func step(gradientScale: Float? = nil, refreshingBFloat16Copies: Bool = false) {
        for (index, param) in parameters.enumerated() {
            guard let grad = param.grad else { continue }
            precondition(grad.shape == param.shape,
                         "AdamW.step: gradient \(grad.shape) of '\(parameterNames[index])' does not match parameter \(param.shape)")
            let owned = ownedRanges?[index] ?? 0..<param.count
            let state = states[index] ?? {
                let shape = ownedRanges == nil ? param.shape : [owned.count]
                let s = ParameterState(step: 0, expAvg: .zeros(shape), expAvgSq: .zeros(shape))
                states[index] = s
                return s
            }()
            state.step += 1
            guard !owned.isEmpty else { continue }
            let copy = refreshingBFloat16Copies && param.rank == 2 && owned.count == param.count
                ? BFloat16Bits.Buffer(count: param.count) : nil
            AdamWKernel.update(param: param.mutablePointer + owned.lowerBound, grad: grad.pointer + owned.lowerBound,
                               expAvg: state.expAvg.mutablePointer, expAvgSq: state.expAvgSq.mutablePointer,
                               count: owned.count, factors: factors(step: state.step, lrScale: lrScales[index]),
                               gradientScale: gradientScale, rounded: copy?.bits)
            if let copy { BFloat16WeightCache.store(param, rounded: copy) }
        }
    }

    /// From now on updates only `ranges[i]` of parameter i (ZeRO-1: `OptimizerShard.ownedRanges`),
    /// and keeps moments for those elements only; moments already held are cut to the ranges.
    /// `stateTensors()` then exports full-shape moments holding zeros outside the ranges, which the
    /// ranks' all-gather completes; `loadState` keeps the ranges of full-shape moments.
    public func shard(_ ranges: [Range<Int>]) {
        precondition(ownedRanges == nil, "AdamW.shard: already sharded")
        precondition(ranges.count == parameters.count && zip(ranges, parameters).allSatisfy { $0.upperBound <= $1.count },
                     "AdamW.shard: \(ranges.count) ranges for \(parameters.count) parameters, or a range past its parameter")
        for (index, state) in states.enumerated() {
            guard let state else { continue }
            states[index] = ParameterState(step: state.step, expAvg: Self.slice(state.expAvg, ranges[index]),
                                           expAvgSq: Self.slice(state.expAvgSq, ranges[index]))
        }
        ownedRanges = ranges
    }

    /// A fresh [range.count] tensor holding `range` of `t`'s elements.
    static func slice(_ t: Tensor, _ range: Range<Int>) -> Tensor {
        let out = Tensor.zeros([range.count])
        if !range.isEmpty { out.mutablePointer.update(from: t.pointer + range.lowerBound, count: range.count) }
        return out
    }

    /// Clears every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() {
        for p in parameters { p.grad = nil }
    }

    /// The per-step scalars, computed in Double and rounded to Float where PyTorch meets the tensor.
    func factors(step: Int, lrScale: Double = 1) -> AdamWKernel.Factors {
        precondition(lrScales.count == parameters.count, "AdamW: \(lrScales.count) lrScales for \(parameters.count) parameters")
        let lr = self.lr * lrScale
        let (beta1, beta2) = betas
        let biasCorrection1 = 1 - Foundation.pow(beta1, Double(step))
        let biasCorrection2 = 1 - Foundation.pow(beta2, Double(step))
        let stepSize = lr / biasCorrection1
        return AdamWKernel.Factors(decay: Float(1 - lr * weightDecay),
                                   applyDecay: weightDecay != 0,
                                   oneMinusBeta1: Float(1 - beta1),
                                   beta2: Float(beta2),
                                   oneMinusBeta2: Float(1 - beta2),
                                   biasCorrection2Sqrt: Float(biasCorrection2.squareRoot()),
                                   eps: Float(eps),
                                   negStepSize: Float(-stepSize))
    }
}
