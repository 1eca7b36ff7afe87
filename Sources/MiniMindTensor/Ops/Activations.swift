import Foundation

// Pointwise activations with hand-written derivatives. All saturate cleanly: at ±100 (or ±1e30)
// they return x or −0 and a derivative of 1 or 0, never NaN.

/// SiLU (swish): x·σ(x).
public func silu(_ x: Tensor) -> Tensor {
    let out = ActivationKernels.forward(x) { ActivationKernels.silu($0) }
    return Tensor.record("silu", output: out, inputs: [x]) { g in
        [ActivationKernels.backward(x, g) { xv, gv in gv * ActivationKernels.siluDerivative(xv) }]
    }
}

/// GELU, exact form x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (PyTorch `approximate='none'`).
/// Computed as 0.5·x·erfc(−x/√2), the same function without the cancellation for negative x.
public func gelu(_ x: Tensor) -> Tensor {
    let out = Tensor.uninitialized(x.shape)
    Kernels.map(x.pointer, out.mutablePointer, count: x.count) { ActivationKernels.geluErf($0) }
    return Tensor.record("gelu", output: out, inputs: [x]) { g in
        let gx = Tensor.uninitialized(x.shape)
        let xp = x.pointer, gp = g.pointer, dp = gx.mutablePointer
        Threads.parallelFor(x.count, minChunk: 1 << 14) { range in
            for i in range { dp[i] = gp[i] * ActivationKernels.geluErfDerivative(xp[i]) }
        }
        return [gx]
    }
}

/// GELU, tanh approximation (PyTorch `approximate='tanh'`): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))),
/// evaluated as x·σ(2u) (the same function, since 1 + tanh u = 2σ(2u)).
public func geluTanh(_ x: Tensor) -> Tensor {
    let out = ActivationKernels.forward(x) { ActivationKernels.geluTanh($0) }
    return Tensor.record("geluTanh", output: out, inputs: [x]) { g in
        [ActivationKernels.backward(x, g) { xv, gv in gv * ActivationKernels.geluTanhDerivative(xv) }]
    }
}

/// Quick-GELU (OpenAI CLIP): x·σ(1.702x).
public func quickGelu(_ x: Tensor) -> Tensor {
    let out = ActivationKernels.forward(x) { ActivationKernels.quickGelu($0) }
    return Tensor.record("quickGelu", output: out, inputs: [x]) { g in
        [ActivationKernels.backward(x, g) { xv, gv in gv * ActivationKernels.quickGeluDerivative(xv) }]
    }
}

enum ActivationKernels {
    typealias V = VectorMath.V

    // MARK: drivers

    /// out = f(x), SIMD over the whole tensor, chunked across threads.
    @inline(__always)
    static func forward(_ x: Tensor, _ f: (V) -> V) -> Tensor {
        let out = Tensor.uninitialized(x.shape)
        let xp = x.pointer, op = out.mutablePointer
        Threads.parallelFor(x.count, minChunk: 1 << 14) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound { VectorMath.store(f(VectorMath.load(xp, i)), op, i); i += 16 }
            if i < range.upperBound {
                let k = range.upperBound - i
                VectorMath.storePartial(f(VectorMath.loadPartial(xp, i, count: k, fill: 0)), op, i, count: k)
            }
        }
        return out
    }

    /// dx = f(x, g), SIMD, chunked across threads.
    @inline(__always)
    static func backward(_ x: Tensor, _ g: Tensor, _ f: (V, V) -> V) -> Tensor {
        let gx = Tensor.uninitialized(x.shape)
        let xp = x.pointer, gp = g.pointer, dp = gx.mutablePointer
        Threads.parallelFor(x.count, minChunk: 1 << 14) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                VectorMath.store(f(VectorMath.load(xp, i), VectorMath.load(gp, i)), dp, i)
                i += 16
            }
            if i < range.upperBound {
                let k = range.upperBound - i
                let v = f(VectorMath.loadPartial(xp, i, count: k, fill: 0), VectorMath.loadPartial(gp, i, count: k, fill: 0))
                VectorMath.storePartial(v, dp, i, count: k)
            }
        }
        return gx
    }

    // MARK: functions and derivatives

    @inline(__always) static func silu(_ x: V) -> V { x * VectorMath.sigmoid(x) }

    /// σ(x)·(1 + x·(1 − σ(x)))
    @inline(__always) static func siluDerivative(_ x: V) -> V {
        let s = VectorMath.sigmoid(x)
        return s * (V(repeating: 1) + x * (V(repeating: 1) - s))
    }

    @inline(__always) static func quickGelu(_ x: V) -> V { x * VectorMath.sigmoid(x * V(repeating: 1.702)) }

    /// σ(1.702x) + 1.702x·σ(1.702x)·(1 − σ(1.702x))
    @inline(__always) static func quickGeluDerivative(_ x: V) -> V {
        let z = x * V(repeating: 1.702)
        let s = VectorMath.sigmoid(z)
        return s + z * s * (V(repeating: 1) - s)
    }

    static let sqrt2OverPi: Float = 0.797_884_56
    static let tanhCubic: Float = 0.044_715

    /// 2u = 2·√(2/π)(x + 0.044715x³). |x| is capped at 30 first: σ(2u) is exactly 0 or 1 well before,
    /// and the cap keeps x³ (and the derivative's 3x² term) finite so nothing becomes inf·0.
    @inline(__always) static func geluTanhArgument(_ x: V) -> (twoU: V, twoUPrime: V) {
        var xc = x.replacing(with: 30, where: x .> 30)
        xc.replace(with: -30, where: xc .< -30)
        let x2 = xc * xc
        let k = V(repeating: 2 * sqrt2OverPi)
        return (k * (xc + V(repeating: tanhCubic) * x2 * xc), k * (V(repeating: 1) + V(repeating: 3 * tanhCubic) * x2))
    }

    @inline(__always) static func geluTanh(_ x: V) -> V { x * VectorMath.sigmoid(geluTanhArgument(x).twoU) }

    /// σ(2u) + x·σ(2u)·(1 − σ(2u))·2u′
    @inline(__always) static func geluTanhDerivative(_ x: V) -> V {
        let (twoU, twoUPrime) = geluTanhArgument(x)
        let s = VectorMath.sigmoid(twoU)
        return s + x * (s * (V(repeating: 1) - s)) * twoUPrime
    }

    @inline(__always) static func geluErf(_ x: Float) -> Float {
        0.5 * x * Foundation.erfc(-x * Float(0.5).squareRoot())
    }

    /// Φ(x) + x·φ(x)
    @inline(__always) static func geluErfDerivative(_ x: Float) -> Float {
        let cdf = 0.5 * Foundation.erfc(-x * Float(0.5).squareRoot())
        return cdf + x * Foundation.exp(-0.5 * x * x) * 0.398_942_28
    }
}
