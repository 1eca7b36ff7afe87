import Foundation

/// Bidirectional multi-head attention with biases (CLIP/SigLIP). Keys `{q,k,v,out}_proj`.
final class ViTAttention: Module {
    let heads: Int
    let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear

    init(config: VisionConfig, generator: inout SeededGenerator) {
        heads = config.numAttentionHeads
        let h = config.hiddenSize
        qProj = Linear(h, h, generator: &generator)
        kProj = Linear(h, h, generator: &generator)
        vProj = Linear(h, h, generator: &generator)
        outProj = Linear(h, h, generator: &generator)
        super.init()
        register(child: "k_proj", kProj)
        register(child: "v_proj", vProj)
        register(child: "q_proj", qProj)
        register(child: "out_proj", outProj)
    }

    /// x + self-attention of norm(x), for frozen use (`EncoderInference`: heads read in place, no
    /// permuted copies, the residual added by the output projection); nil where it does not apply.
    func inference(_ x: Tensor, norm: LayerNorm) -> Tensor? {
        EncoderInference.attentionBlock(x, norm: norm, heads: heads, q: qProj, k: kProj, v: vProj, out: outProj)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let n = x.shape[0], t = x.shape[1], h = x.shape[2], d = h / heads
        func split(_ y: Tensor) -> Tensor { y.reshaped([n, t, heads, d]).permuted([0, 2, 1, 3]) }
        let o = scaledDotProductAttention(q: split(qProj(x)), k: split(kProj(x)), v: split(vProj(x)), causal: false)
        return outProj(o.permuted([0, 2, 1, 3]).reshaped([n, t, h]))
    }
}

/// fc1 → activation → fc2. Keys `fc1`, `fc2`.
final class ViTMLP: Module {
    let fc1: Linear, fc2: Linear
    let activation: VisionConfig.Activation

    init(config: VisionConfig, generator: inout SeededGenerator) {
        fc1 = Linear(config.hiddenSize, config.intermediateSize, generator: &generator)
        fc2 = Linear(config.intermediateSize, config.hiddenSize, generator: &generator)
        activation = config.activation
        super.init()
        register(child: "fc1", fc1)
        register(child: "fc2", fc2)
    }

    /// x + MLP of norm(x), for frozen use (`EncoderInference`: fc1's output activated in place and,
    /// in bf16, rounded for fc2 in the same pass); nil where it does not apply.
    func inference(_ x: Tensor, norm: LayerNorm) -> Tensor? {
        inferenceActivation.flatMap { EncoderInference.mlpBlock(x, norm: norm, fc1: fc1, fc2: fc2, activation: $0) }
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = fc1(x)
        switch activation {
        case .quickGelu: return fc2(quickGelu(h))
        case .geluTanh: return fc2(geluTanh(h))
        case .gelu: return fc2(gelu(h))
        }
    }

    private var inferenceActivation: EncoderInference.Activation? {
        switch activation {
        case .quickGelu: return .quickGelu
        case .geluTanh: return .geluTanh
        case .gelu: return nil
        }
    }
}

/// Pre-norm encoder layer: `x += attn(LN1(x))`, `x += mlp(LN2(x))`.
final class ViTLayer: Module {
    let selfAttn: ViTAttention, layerNorm1: LayerNorm, mlp: ViTMLP, layerNorm2: LayerNorm

    init(config: VisionConfig, generator: inout SeededGenerator) {
        selfAttn = ViTAttention(config: config, generator: &generator)
        layerNorm1 = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        mlp = ViTMLP(config: config, generator: &generator)
        layerNorm2 = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        super.init()
        register(child: "self_attn", selfAttn)
        register(child: "layer_norm1", layerNorm1)
        register(child: "mlp", mlp)
        register(child: "layer_norm2", layerNorm2)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        if !GradMode.isEnabled {  // frozen use (encoding under noGrad)
            let a = selfAttn.inference(x, norm: layerNorm1) ?? x + selfAttn(layerNorm1(x))
            return mlp.inference(a, norm: layerNorm2) ?? a + mlp(layerNorm2(a))
        }
        let a = x + selfAttn(layerNorm1(x))
        return a + mlp(layerNorm2(a))
    }
}
