import Foundation

/// silu(gate) ⊙ up, fused: one pass forward, one pass backward producing both gradients
/// (only those that are needed). `gate` and `up` must have the same shape.
public func swiglu(gate: Tensor, up: Tensor) -> Tensor {
    opRequire(gate.shape == up.shape, "swiglu: gate \(gate.shape) and up \(up.shape) must have the same shape")
    let out = Tensor.uninitialized(gate.shape)
    let gp = gate.pointer, upp = up.pointer, op = out.mutablePointer
    Threads.parallelFor(gate.count, minChunk: 1 << 14) { SwiGLUKernels.forward(gp, upp, op, $0) }
    return Tensor.record("swiglu", output: out, inputs: [gate, up]) { g in
        let dp = g.pointer
        let gGate = gate.needsGrad ? Tensor.uninitialized(gate.shape) : nil
        let gUp = up.needsGrad ? Tensor.uninitialized(up.shape) : nil
        let ggp = gGate?.mutablePointer, gup = gUp?.mutablePointer
        Threads.parallelFor(gate.count, minChunk: 1 << 14) { SwiGLUKernels.backward(gp, upp, dp, ggp, gup, $0) }
        return [gGate, gUp]
    }
}

enum SwiGLUKernels {
    typealias V = VectorMath.V

    // @inline(never) small functions with closure-free loops, so the SIMD math is reliably inlined.

    @inline(never)
    static func forward(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i < r.upperBound {
            let k = Swift.min(16, r.upperBound - i)
            store(ActivationKernels.silu(load(gate, i, k)) * load(up, i, k), out, i, k)
            i += k
        }
    }

    /// dgate = g·up·silu′(gate), dup = g·silu(gate), each only when its pointer is given.
    @inline(never)
    static func backward(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                         _ dGate: UnsafeMutablePointer<Float>?, _ dUp: UnsafeMutablePointer<Float>?, _ r: Range<Int>) {
        var i = r.lowerBound
        while i < r.upperBound {
            let k = Swift.min(16, r.upperBound - i)
            let x = load(gate, i, k), d = load(g, i, k)
            if let dGate { store(d * load(up, i, k) * ActivationKernels.siluDerivative(x), dGate, i, k) }
            if let dUp { store(d * ActivationKernels.silu(x), dUp, i, k) }
            i += k
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int, _ k: Int) -> V {
        k == 16 ? VectorMath.load(p, i) : VectorMath.loadPartial(p, i, count: k, fill: 0)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ k: Int) {
        if k == 16 { VectorMath.store(v, p, i) } else { VectorMath.storePartial(v, p, i, count: k) }
    }
}
