import Foundation

/// silu(gate) ⊙ up, fused: one pass forward, one pass backward producing both gradients
/// (only those that are needed). `gate` and `up` must have the same shape.
public func swiglu(gate: Tensor, up: Tensor) -> Tensor {
    opRequire(gate.shape == up.shape, "swiglu: gate \(gate.shape) and up \(up.shape) must have the same shape")
    let out = Tensor.uninitialized(gate.shape)
    let gp = gate.pointer, up_ = up.pointer, op = out.mutablePointer
    SwiGLUKernels.forEachBlock(gate.count) { i, k in
        let v = ActivationKernels.silu(SwiGLUKernels.load(gp, i, k)) * SwiGLUKernels.load(up_, i, k)
        SwiGLUKernels.store(v, op, i, k)
    }
    return Tensor.record("swiglu", output: out, inputs: [gate, up]) { g in
        let dp = g.pointer
        let gGate = gate.needsGrad ? Tensor.uninitialized(gate.shape) : nil
        let gUp = up.needsGrad ? Tensor.uninitialized(up.shape) : nil
        let ggp = gGate?.mutablePointer, gup = gUp?.mutablePointer
        SwiGLUKernels.forEachBlock(gate.count) { i, k in
            let x = SwiGLUKernels.load(gp, i, k), d = SwiGLUKernels.load(dp, i, k)
            if let ggp { SwiGLUKernels.store(d * SwiGLUKernels.load(up_, i, k) * ActivationKernels.siluDerivative(x), ggp, i, k) }
            if let gup { SwiGLUKernels.store(d * ActivationKernels.silu(x), gup, i, k) }
        }
        return [gGate, gUp]
    }
}

enum SwiGLUKernels {
    typealias V = VectorMath.V

    /// Calls `body(start, width)` for blocks of 16 (the last may be shorter), chunked across threads.
    @inline(__always)
    static func forEachBlock(_ count: Int, _ body: (Int, Int) -> Void) {
        Threads.parallelFor(count, minChunk: 1 << 14) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound { body(i, 16); i += 16 }
            if i < range.upperBound { body(i, range.upperBound - i) }
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
