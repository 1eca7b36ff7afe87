import Foundation

// Pointwise activations with hand-written derivatives. All saturate cleanly: at ±100 (or ±1e30)
// they return x or −0 and a derivative of 1 or 0, never NaN.

/// SiLU (swish): x·σ(x).
public func silu(_ x: Tensor) -> Tensor {
    let out = ActivationKernels.forward(x, ActivationKernels.siluForward)
    return Tensor.record("silu", output: out, inputs: [x]) { g in [ActivationKernels.backward(x, g, ActivationKernels.siluBackward)] }
}

/// GELU, exact form x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (PyTorch `approximate='none'`).
/// Computed as 0.5·x·erfc(−x/√2), the same function without the cancellation for negative x.
public func gelu(_ x: Tensor) -> Tensor {
    let out = ActivationKernels.forward(x, ActivationKernels.geluErfForward)
    return Tensor.record("gelu", output: out, inputs: [x]) { g in [ActivationKernels.backward(x, g, ActivationKernels.geluErfBackward)] }
}

/// GELU, tanh approximation (PyTorch `approximate='tanh'`): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))),
/// evaluated as x·σ(2u) (the same function, since 1 + tanh u = 2σ(2u)).
public func geluTanh(_ x: Tensor) -> Tensor {
    let out = ActivationKernels.forward(x, ActivationKernels.geluTanhForward)
    return Tensor.record("geluTanh", output: out, inputs: [x]) { g in [ActivationKernels.backward(x, g, ActivationKernels.geluTanhBackward)] }
}

/// Quick-GELU (OpenAI CLIP): x·σ(1.702x).
public func quickGelu(_ x: Tensor) -> Tensor {
    let out = ActivationKernels.forward(x, ActivationKernels.quickGeluForward)
    return Tensor.record("quickGelu", output: out, inputs: [x]) { g in [ActivationKernels.backward(x, g, ActivationKernels.quickGeluBackward)] }
}

enum ActivationKernels {
    typealias V = VectorMath.V

    typealias Forward = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void
    typealias Backward = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void

    // MARK: drivers

    /// out = f(x), `kernel` called once per thread chunk.
    static func forward(_ x: Tensor, _ kernel: Forward) -> Tensor {
        let out = Tensor.uninitialized(x.shape)
        let xp = x.pointer, op = out.mutablePointer
        Threads.parallelFor(x.count, minChunk: 1 << 14) { kernel(xp, op, $0) }
        return out
    }

    /// dx = g · f′(x), `kernel(x, g, dx, range)` called once per thread chunk.
    static func backward(_ x: Tensor, _ g: Tensor, _ kernel: Backward) -> Tensor {
        let gx = Tensor.uninitialized(x.shape)
        let xp = x.pointer, gp = g.pointer, dp = gx.mutablePointer
        Threads.parallelFor(x.count, minChunk: 1 << 14) { kernel(xp, gp, dp, $0) }
        return gx
    }

    // MARK: range kernels
    // @inline(never) small functions with closure-free loops: the optimiser reliably inlines the
    // (@_transparent) SIMD math here, whereas closures carrying it are called per 16 elements.

    @inline(never) static func siluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { VectorMath.store(silu(VectorMath.load(x, i)), y, i); i += 16 }
        if i < r.upperBound {
            let k = r.upperBound - i
            VectorMath.storePartial(silu(VectorMath.loadPartial(x, i, count: k, fill: 0)), y, i, count: k)
        }
    }
    @inline(never) static func siluBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { VectorMath.store(VectorMath.load(g, i) * siluDerivative(VectorMath.load(x, i)), d, i); i += 16 }
        if i < r.upperBound {
            let k = r.upperBound - i
            let v = VectorMath.loadPartial(g, i, count: k, fill: 0) * siluDerivative(VectorMath.loadPartial(x, i, count: k, fill: 0))
            VectorMath.storePartial(v, d, i, count: k)
        }
    }
    @inline(never) static func geluTanhForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { VectorMath.store(geluTanh(VectorMath.load(x, i)), y, i); i += 16 }
        if i < r.upperBound {
            let k = r.upperBound - i
            VectorMath.storePartial(geluTanh(VectorMath.loadPartial(x, i, count: k, fill: 0)), y, i, count: k)
        }
    }
    @inline(never) static func geluTanhBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { VectorMath.store(VectorMath.load(g, i) * geluTanhDerivative(VectorMath.load(x, i)), d, i); i += 16 }
        if i < r.upperBound {
            let k = r.upperBound - i
            let v = VectorMath.loadPartial(g, i, count: k, fill: 0) * geluTanhDerivative(VectorMath.loadPartial(x, i, count: k, fill: 0))
            VectorMath.storePartial(v, d, i, count: k)
        }
    }
    @inline(never) static func quickGeluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { VectorMath.store(quickGelu(VectorMath.load(x, i)), y, i); i += 16 }
        if i < r.upperBound {
            let k = r.upperBound - i
            VectorMath.storePartial(quickGelu(VectorMath.loadPartial(x, i, count: k, fill: 0)), y, i, count: k)
        }
    }
    @inline(never) static func quickGeluBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i + 16 <= r.upperBound { VectorMath.store(VectorMath.load(g, i) * quickGeluDerivative(VectorMath.load(x, i)), d, i); i += 16 }
        if i < r.upperBound {
            let k = r.upperBound - i
            let v = VectorMath.loadPartial(g, i, count: k, fill: 0) * quickGeluDerivative(VectorMath.loadPartial(x, i, count: k, fill: 0))
            VectorMath.storePartial(v, d, i, count: k)
        }
    }
    /// Scalar: erf has no SIMD form here; Foundation's erfc is exact to the last bit or so.
    @inline(never) static func geluErfForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        for i in r { y[i] = geluErf(x[i]) }
    }
    @inline(never) static func geluErfBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        for i in r { d[i] = g[i] * geluErfDerivative(x[i]) }
    }

    // MARK: functions and derivatives

    @_transparent static func silu(_ x: V) -> V { x * VectorMath.sigmoid(x) }

    /// σ(x)·(1 + x·(1 − σ(x)))
    @_transparent static func siluDerivative(_ x: V) -> V {
        let s = VectorMath.sigmoid(x)
        return s * (V(repeating: 1) + x * (V(repeating: 1) - s))
    }

    @_transparent static func quickGelu(_ x: V) -> V { x * VectorMath.sigmoid(x * V(repeating: 1.702)) }

    /// σ(1.702x) + 1.702x·σ(1.702x)·(1 − σ(1.702x))
    @_transparent static func quickGeluDerivative(_ x: V) -> V {
        let z = x * V(repeating: 1.702)
        let s = VectorMath.sigmoid(z)
        return s + z * s * (V(repeating: 1) - s)
    }

    static let sqrt2OverPi: Float = 0.797_884_56
    static let tanhCubic: Float = 0.044_715
    // The SIMD formulas below are @_transparent for the same reason as VectorMath's.

    /// 2u = 2·√(2/π)(x + 0.044715x³). |x| is capped at 30 first: σ(2u) is exactly 0 or 1 well before,
    /// and the cap keeps x³ (and the derivative's 3x² term) finite so nothing becomes inf·0.
    @_transparent static func geluTanhArgument(_ x: V) -> (twoU: V, twoUPrime: V) {
        var xc = x.replacing(with: 30, where: x .> 30)
        xc.replace(with: -30, where: xc .< -30)
        let x2 = xc * xc
        let k = V(repeating: 2 * sqrt2OverPi)
        return (k * (xc + V(repeating: tanhCubic) * x2 * xc), k * (V(repeating: 1) + V(repeating: 3 * tanhCubic) * x2))
    }

    @_transparent static func geluTanh(_ x: V) -> V { x * VectorMath.sigmoid(geluTanhArgument(x).twoU) }

    /// σ(2u) + x·σ(2u)·(1 − σ(2u))·2u′
    @_transparent static func geluTanhDerivative(_ x: V) -> V {
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
