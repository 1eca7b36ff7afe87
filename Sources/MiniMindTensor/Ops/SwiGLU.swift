import Foundation

/// silu(gate) ⊙ up, fused: one pass forward, one pass backward producing both gradients
/// (only those that are needed). `gate` and `up` must have the same shape.
///
/// Training in bf16 (`Compute.precision`), the passes also write the bfloat16 copies the adjacent
/// Linear products read (`Tensor.bfloat16Copy`): of the output, the down projection's input, and of
/// both gradients, the gate and up projections' output gradients. Rounding them there, while the
/// values are in registers, saves the Linear a read of the largest activations of the step (the
/// feed-forward's intermediate width); the bits are those of `BFloat16Bits.rounded`.
public func swiglu(gate: Tensor, up: Tensor) -> Tensor {
    opRequire(gate.shape == up.shape, "swiglu: gate \(gate.shape) and up \(up.shape) must have the same shape")
    let out = Tensor.uninitialized(gate.shape)
    let gp = gate.pointer, upp = up.pointer, op = out.mutablePointer
    let copies = GradMode.isEnabled && (gate.needsGrad || up.needsGrad) && Compute.effectivePrecision == .bf16
    let out16 = copies ? BFloat16Bits.Buffer(count: out.count) : nil
    let o16 = out16?.bits
    Threads.parallelFor(gate.count, minChunk: 1 << 14) { SwiGLUKernels.forward(gp, upp, op, o16, $0) }
    out.bfloat16Copy = out16
    return Tensor.record("swiglu", output: out, inputs: [gate, up]) { g in
        let dp = g.pointer
        let gGate = gate.needsGrad ? Tensor.uninitialized(gate.shape) : nil
        let gUp = up.needsGrad ? Tensor.uninitialized(up.shape) : nil
        gGate?.bfloat16Copy = copies ? BFloat16Bits.Buffer(count: gate.count) : nil
        gUp?.bfloat16Copy = copies ? BFloat16Bits.Buffer(count: up.count) : nil
        let ggp = gGate?.mutablePointer, gup = gUp?.mutablePointer
        let gg16 = gGate?.bfloat16Copy?.bits, gu16 = gUp?.bfloat16Copy?.bits
        Threads.parallelFor(gate.count, minChunk: 1 << 14) { SwiGLUKernels.backward(gp, upp, dp, ggp, gup, gg16, gu16, $0) }
        return [gGate, gUp]
    }
}

enum SwiGLUKernels {
    typealias V = VectorMath.V

    // @inline(never) small functions with closure-free loops, so the SIMD math is reliably inlined.

    /// Values per sub-block: the kernels round what they just wrote while it is still in L1 (with
    /// `BFloat16Bits.round`'s vector loop; rounding lane by lane inside the math loop cost more
    /// than the read it saved).
    static let roundingBlock = 2048

    @inline(never)
    static func forward(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                        _ out16: UnsafeMutablePointer<UInt16>?, _ r: Range<Int>) {
        for lo in stride(from: r.lowerBound, to: r.upperBound, by: roundingBlock) {
            let hi = Swift.min(lo + roundingBlock, r.upperBound)
            var i = lo
            while i < hi {
                let k = Swift.min(16, hi - i)
                store(ActivationKernels.silu(load(gate, i, k)) * load(up, i, k), out, i, k)
                i += k
            }
            if let out16 { BFloat16Bits.round(UnsafePointer(out + lo), into: out16 + lo, count: hi - lo) }
        }
    }

    /// dgate = g·up·silu′(gate), dup = g·silu(gate), each only when its pointer is given (with its
    /// bfloat16 copy when that pointer is given).
    @inline(never)
    static func backward(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                         _ dGate: UnsafeMutablePointer<Float>?, _ dUp: UnsafeMutablePointer<Float>?,
                         _ dGate16: UnsafeMutablePointer<UInt16>?, _ dUp16: UnsafeMutablePointer<UInt16>?, _ r: Range<Int>) {
        for lo in stride(from: r.lowerBound, to: r.upperBound, by: roundingBlock) {
            let hi = Swift.min(lo + roundingBlock, r.upperBound)
            var i = lo
            while i < hi {
                let k = Swift.min(16, hi - i)
                // One sigmoid for both: silu = x·σ, silu′ = σ·(1 + x·(1 − σ)) (ActivationKernels' formulas, same bits).
                let x = load(gate, i, k), d = load(g, i, k), s = VectorMath.sigmoid(x)
                if let dGate { store(d * load(up, i, k) * (s * (V(repeating: 1) + x * (V(repeating: 1) - s))), dGate, i, k) }
                if let dUp { store(d * (x * s), dUp, i, k) }
                i += k
            }
            if let dGate, let dGate16 { BFloat16Bits.round(UnsafePointer(dGate + lo), into: dGate16 + lo, count: hi - lo) }
            if let dUp, let dUp16 { BFloat16Bits.round(UnsafePointer(dUp + lo), into: dUp16 + lo, count: hi - lo) }
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
