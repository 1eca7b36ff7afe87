import Foundation

/// A `Linear` with a low-rank adapter (LoRA, as PEFT defines it): y = base(x) + scale·B·A·dropout(x),
/// scale = alpha / r (alpha / √r with rsLoRA). A is [r, in], B is [out, r]; PEFT's initialisation
/// makes A kaiming-uniform and B zero, so a fresh adapter leaves the layer's output unchanged.
///
/// It is swapped in for the layer it adapts (`MiniMindLM.swapLinears`), as `PackedLinear` is: it holds
/// the same weight and bias tensors under the same keys (`weight`, `bias`) and adds its own under
/// `lora_A.weight`, `lora_B.weight` — PEFT's names, so the model's keys of an adapted layer are
/// `model.layers.0.self_attn.q_proj.lora_A.weight`. The frozen product runs through `base`, which a
/// packed decode layer may replace (`replacingBase`); training, prefill and decode all go through
/// `callAsFunction` / `accumulate` here, so every path sees the adapter. Dropout acts in training
/// mode only, from its own seeded generator.
public final class LoRALinear: Linear {
    /// The layer computing the frozen product x·Wᵀ + b (the original float layer, or a packed copy).
    public let base: Linear
    public let loraA: Linear, loraB: Linear
    public let rank: Int
    public let alpha: Float
    /// rsLoRA (PEFT's `use_rslora`): scale alpha / √rank instead of alpha / rank.
    public let rsLoRA: Bool
    /// The factor of B·A: alpha / rank, or alpha / √rank for rsLoRA.
    public let scale: Float
    public let dropout: Dropout

    /// A fresh adapter on `layer`: A kaiming-uniform (bound 1/√in, PyTorch's `kaiming_uniform_(a=√5)`,
    /// as PEFT initialises it), B zero.
    public convenience init(adapting layer: Linear, rank: Int, alpha: Float, dropout p: Float, rsLoRA: Bool = false,
                            generator: inout SeededGenerator, dropoutSeed: UInt64) {
        let bound = ParameterInit.linearBound(fanIn: layer.inFeatures)
        let a = Tensor.uniform([rank, layer.inFeatures], low: -bound, high: bound, generator: &generator)
        self.init(adapting: layer, a: a, b: .zeros([layer.outFeatures, rank]), alpha: alpha, dropout: p,
                  rsLoRA: rsLoRA, dropoutSeed: dropoutSeed)
    }

    /// An adapter with the given factors (loaded from a file): `a` [r, in], `b` [out, r].
    public convenience init(adapting layer: Linear, a: Tensor, b: Tensor, alpha: Float, dropout p: Float, rsLoRA: Bool = false,
                            dropoutSeed: UInt64 = 0) {
        precondition(a.rank == 2 && b.rank == 2 && a.shape[0] == b.shape[1] && a.shape[0] > 0,
                     "LoRALinear: A \(a.shape) and B \(b.shape) must be [r, in] and [out, r]")
        precondition(a.shape[1] == layer.inFeatures && b.shape[0] == layer.outFeatures,
                     "LoRALinear: A \(a.shape) and B \(b.shape) do not fit the layer's weight \(layer.weight.shape)")
        self.init(base: layer, loraA: Linear(weight: a), loraB: Linear(weight: b), alpha: alpha, rsLoRA: rsLoRA,
                  dropout: Dropout(p: p, seed: dropoutSeed))
    }

    private init(base layer: Linear, loraA: Linear, loraB: Linear, alpha: Float, rsLoRA: Bool, dropout: Dropout) {
        base = layer
        rank = loraA.outFeatures
        self.alpha = alpha
        self.rsLoRA = rsLoRA
        scale = rsLoRA ? alpha / Float(Double(rank).squareRoot()) : alpha / Float(rank)
        self.loraA = loraA
        self.loraB = loraB
        self.dropout = dropout
        let trainable = (layer.weight.requiresGrad, layer.bias?.requiresGrad)
        super.init(weight: layer.weight, bias: layer.bias)
        weight.requiresGrad = trainable.0
        if let b = trainable.1 { bias?.requiresGrad = b }
        register(child: "lora_A", loraA)
        register(child: "lora_B", loraB)
        register(child: "lora_dropout", dropout)
    }

    /// The same adapter (the same A, B and dropout modules) over another layer computing the same
    /// frozen product, e.g. a `PackedLinear` for decoding.
    public func replacingBase(_ layer: Linear) -> LoRALinear {
        precondition(layer.weight === weight, "LoRALinear.replacingBase: the new base must hold the same weight")
        return LoRALinear(base: layer, loraA: loraA, loraB: loraB, alpha: alpha, rsLoRA: rsLoRA, dropout: dropout)
    }

    /// The adapter's contribution scale·B·A·dropout(x), with autograd.
    func delta(_ x: Tensor) -> Tensor { loraB(loraA(dropout(x))) * scale }

    public override func callAsFunction(_ x: Tensor) -> Tensor { base(x) + delta(x) }

    /// y += x·Wᵀ + b + scale·B·A·x in place (inference: dropout is off outside training).
    public override func accumulate(_ x: Tensor, into y: Tensor) {
        base.accumulate(x, into: y)
        let rows = x.count / Swift.max(inFeatures, 1)
        let ax = loraA(dropout(x))  // [rows, r]; dropout is the identity outside training
        BLAS.gemm(transB: true, m: rows, n: outFeatures, k: rank, alpha: scale, a: ax.pointer, b: loraB.weight.pointer,
                  beta: 1, c: y.mutablePointer)
    }

    /// scale·B·A [out, in]: what merging adds to the weight.
    public func deltaWeight() -> Tensor {
        let d = Tensor.zeros([outFeatures, inFeatures])
        BLAS.gemm(m: outFeatures, n: inFeatures, k: rank, alpha: scale, a: loraB.weight.pointer, b: loraA.weight.pointer,
                  beta: 0, c: d.mutablePointer)
        return d
    }

    /// A plain layer with W + scale·B·A (a new weight tensor; the bias tensor is shared), trainability
    /// of the base kept.
    public func merged() -> Linear {
        let w = weight.copy()
        BLAS.gemm(m: outFeatures, n: inFeatures, k: rank, alpha: scale, a: loraB.weight.pointer, b: loraA.weight.pointer,
                  beta: 1, c: w.mutablePointer)
        let layer = Linear(weight: w, bias: bias)
        layer.weight.requiresGrad = weight.requiresGrad
        if let b = bias?.requiresGrad { layer.bias?.requiresGrad = b }
        return layer
    }
}
