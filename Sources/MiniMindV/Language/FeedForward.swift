import Foundation

/// SwiGLU feed-forward: `down(silu(gate(x)) ⊙ up(x))`, no biases. Keys `gate_proj`, `up_proj`, `down_proj`.
public final class FeedForward: Module {
    public private(set) var gateProj: Linear, upProj: Linear, downProj: Linear

    public init(hidden: Int, intermediate: Int, generator: inout SeededGenerator) {
        gateProj = Linear(hidden, intermediate, bias: false, generator: &generator)
        upProj = Linear(hidden, intermediate, bias: false, generator: &generator)
        downProj = Linear(intermediate, hidden, bias: false, generator: &generator)
        super.init()
        register(child: "gate_proj", gateProj)
        register(child: "up_proj", upProj)
        register(child: "down_proj", downProj)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        downProj(swiglu(gate: gateProj(x), up: upProj(x)))
    }

    /// y += ffn(x) in place (inference): the residual add rides on the down projection's beta = 1.
    func addForward(_ x: Tensor, into y: Tensor) {
        downProj.accumulate(swiglu(gate: gateProj(x), up: upProj(x)), into: y)
    }

    /// Replaces each projection by `transform(name, layer)` (name: `gate_proj`, …), keys unchanged.
    public func swapLinears(_ transform: (String, Linear) -> Linear) {
        gateProj = swap(child: "gate_proj", gateProj, transform)
        upProj = swap(child: "up_proj", upProj, transform)
        downProj = swap(child: "down_proj", downProj, transform)
    }
}
