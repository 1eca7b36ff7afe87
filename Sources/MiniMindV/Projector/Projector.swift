import Foundation

/// Maps vision features [N, tokens, visionDim] to language-model embeddings [N, tokens, hidden].
/// Any Module built from Tensor ops works: its backward pass comes from autograd.
public protocol Projector: Module {
    func callAsFunction(_ features: Tensor) -> Tensor
}

/// MiniMind2-V: `Linear(vision → hidden)` with bias. Keys `vision_proj.0.{weight,bias}` (inside the
/// VLM's `vision_proj`, hence `vision_proj.vision_proj.0.*`).
public final class LinearProjector: Module, Projector, LinearLayerSwapping {
    public private(set) var linear: Linear

    public init(visionDim: Int, hidden: Int, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        linear = Linear(visionDim, hidden, generator: &g)
        super.init()
        let sequential = Module()
        sequential.register(child: "0", linear)
        register(child: "vision_proj", sequential)
    }

    public func callAsFunction(_ features: Tensor) -> Tensor { linear(features) }

    /// Replaces the layer by `transform("vision_proj.0", layer)` (its key path here), keys unchanged.
    public func swapLinears(_ transform: (String, Linear) -> Linear) {
        guard let sequential = module(at: "vision_proj") else { return }
        linear = sequential.swap(child: "0", linear) { transform("vision_proj." + $0, $1) }
    }
}

/// minimind-3v: LayerNorm(eps 1e-5) → Linear → GELU(erf) → Linear. Keys `mlp.{0,1,3}.*`.
public final class MLPProjector: Module, Projector, LinearLayerSwapping {
    public let norm: LayerNorm
    public private(set) var fc1: Linear, fc2: Linear

    public init(visionDim: Int, hidden: Int, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        norm = LayerNorm(visionDim, eps: 1e-5)
        fc1 = Linear(visionDim, hidden, generator: &g)
        fc2 = Linear(hidden, hidden, generator: &g)
        super.init()
        let sequential = Module()
        sequential.register(child: "0", norm)
        sequential.register(child: "1", fc1)
        sequential.register(child: "3", fc2)  // index 2 is the parameter-free GELU
        register(child: "mlp", sequential)
    }

    public func callAsFunction(_ features: Tensor) -> Tensor { fc2(gelu(fc1(norm(features)))) }

    /// Replaces each linear layer by `transform("mlp.1" / "mlp.3", layer)`, keys unchanged.
    public func swapLinears(_ transform: (String, Linear) -> Linear) {
        guard let sequential = module(at: "mlp") else { return }
        fc1 = sequential.swap(child: "1", fc1) { transform("mlp." + $0, $1) }
        fc2 = sequential.swap(child: "3", fc2) { transform("mlp." + $0, $1) }
    }
}
