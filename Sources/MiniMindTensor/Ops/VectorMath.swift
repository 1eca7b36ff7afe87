import Foundation

/// SIMD16 transcendentals for the hot row kernels (softmax, cross-entropy, SiLU, GELU-tanh).
/// `exp` is the Cephes single-precision scheme (Cody–Waite reduction, degree-6 polynomial): within
/// about 2 ulp of the exact value over the whole Float range, no fast-math, and exact at the edges:
/// exp(-inf) = 0, exp(+inf) = +inf, NaN stays NaN, results below the normal range are gradual denormals.
///
/// The math functions are `@_transparent` (always inlined): the optimiser otherwise declines to
/// inline these large SIMD bodies into big callers and calls them per 16 elements through memory.
public enum VectorMath {
    public typealias V = SIMD16<Float>

    /// Largest input whose exp is finite; smallest input whose exp is not flushed to zero.
    @usableFromInline static let expOverflow: Float = 88.72283
    @usableFromInline static let expUnderflow: Float = -103.97208

    @_transparent
    public static func exp(_ x: V) -> V {
        // Clamp into the range the reduction handles; NaN fails both comparisons and flows through.
        var xc = x.replacing(with: expUnderflow, where: x .< expUnderflow)
        xc = xc.replacing(with: expOverflow, where: xc .> expOverflow)
        // n = round(x / ln 2) by the 1.5·2²³ trick: the low mantissa bits of t hold n.
        let magic = V(repeating: 12_582_912)
        let t = xc * V(repeating: 1.442_695_04) + magic
        let n = t - magic
        var r = xc - n * V(repeating: 0.693_359_375)
        r = r - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_59e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_12e-1)
        let y = p * (r * r) + r + V(repeating: 1)
        // 2ⁿ as two normal factors so n in [-150, 128] never leaves the exponent range.
        let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let n1 = ni &>> 1, n2 = ni &- n1
        let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: V.self)
        let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: V.self)
        var result = y * s1 * s2
        result.replace(with: 0, where: x .< expUnderflow)
        result.replace(with: .infinity, where: x .> expOverflow)
        return result
    }

    /// exp for x ≤ 0 (and −inf, NaN): what softmax and log-sum-exp need after the max shift. Skips the
    /// overflow handling and builds 2ⁿ in one step (about 20% fewer instructions than `exp`); results
    /// below Float's normal range (x < −87.34) become 0, an absolute error under 1.2e−38. Exact for x ≤ 88.
    @_transparent
    public static func expNonPositive(_ x: V) -> V {
        let lo: Float = -87.336_54
        let under = x .< lo
        let xc = x.replacing(with: lo, where: under)
        let magic = V(repeating: 12_582_912)
        let t = xc * V(repeating: 1.442_695_04) + magic
        let n = t - magic
        var r = xc - n * V(repeating: 0.693_359_375)
        r = r - n * V(repeating: -2.121_944_4e-4)
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_59e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_12e-1)
        let y = p * (r * r) + r + V(repeating: 1)
        // bits(t) − bits(1.5·2²³) + 127 is the biased exponent of 2ⁿ.
        let scale = unsafeBitCast((unsafeBitCast(t, to: SIMD16<Int32>.self) &- (0x4B40_0000 - 127)) &<< 23, to: V.self)
        return (y * scale).replacing(with: 0, where: under)
    }

    /// Logistic sigmoid 1 / (1 + e^-x): saturates to exactly 0 and 1, never NaN for finite x.
    @_transparent
    public static func sigmoid(_ x: V) -> V {
        V(repeating: 1) / (V(repeating: 1) + exp(-x))
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }

    /// Loads `count` (< 16) floats padded with `fill`, for row tails handled in the SIMD body.
    @inline(__always)
    static func loadPartial(_ p: UnsafePointer<Float>, _ i: Int, count: Int, fill: Float) -> V {
        var v = V(repeating: fill)
        for k in 0..<count { v[k] = p[i + k] }
        return v
    }

    @inline(__always)
    static func storePartial(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int, count: Int) {
        for k in 0..<count { p[i + k] = v[k] }
    }

    /// Maximum of a row (−inf for an empty row). NaN entries are skipped by the comparison.
    @inline(__always)
    static func rowMax(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = V(repeating: -.infinity)
        var i = 0
        while i + 16 <= n {
            let v = load(x, i)
            acc.replace(with: v, where: v .> acc)
            i += 16
        }
        var m = acc.max()
        while i < n { if x[i] > m { m = x[i] }; i += 1 }
        return m
    }

    /// Σ exp(x[i] - shift) over a row, Float lanes (rows are short enough for Float accumulation).
    @inline(__always)
    static func rowSumExp(_ x: UnsafePointer<Float>, count n: Int, shift: Float) -> Float {
        let s = V(repeating: shift)
        var acc = V()
        var i = 0
        while i + 16 <= n { acc += expNonPositive(load(x, i) - s); i += 16 }
        if i < n { acc += expNonPositive(loadPartial(x, i, count: n - i, fill: -.infinity) - s) }
        return acc.sum()
    }
}

// Elementwise SIMD bodies passed as values, not closures. A generic loop specialised on a small struct
// inlines the body; a closure argument was left as an out-of-line call per 16 elements, with the
// vectors going through memory (measured 3× slower on RMSNorm and the elementwise ops).

/// f(a, b) on 16 lanes and on one scalar (for the tails of the chunked kernels).
public protocol SIMDBinaryFunction {
    func callAsFunction(_ a: VectorMath.V, _ b: VectorMath.V) -> VectorMath.V
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// f(a) on 16 lanes and on one scalar.
public protocol SIMDUnaryFunction {
    func callAsFunction(_ a: VectorMath.V) -> VectorMath.V
    func callAsFunction(_ a: Float) -> Float
}

/// f(a, b) on 16 lanes only (row kernels pad their tails, so no scalar form).
protocol SIMDRowFunction2 {
    func callAsFunction(_ a: VectorMath.V, _ b: VectorMath.V) -> VectorMath.V
}

/// f(a, b, c) on 16 lanes only.
protocol SIMDRowFunction3 {
    func callAsFunction(_ a: VectorMath.V, _ b: VectorMath.V, _ c: VectorMath.V) -> VectorMath.V
}

/// The arithmetic behind the tensor operators.
public enum SIMDFunctions {
    public typealias V = VectorMath.V
    public struct Add: SIMDBinaryFunction {
        public init() {}
        @inline(__always) public func callAsFunction(_ a: V, _ b: V) -> V { a + b }
        @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
    }
    public struct Subtract: SIMDBinaryFunction {
        public init() {}
        @inline(__always) public func callAsFunction(_ a: V, _ b: V) -> V { a - b }
        @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
    }
    public struct Multiply: SIMDBinaryFunction {
        public init() {}
        @inline(__always) public func callAsFunction(_ a: V, _ b: V) -> V { a * b }
        @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
    }
    public struct Divide: SIMDBinaryFunction {
        public init() {}
        @inline(__always) public func callAsFunction(_ a: V, _ b: V) -> V { a / b }
        @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b }
    }
    /// −a·b
    public struct NegatedProduct: SIMDBinaryFunction {
        public init() {}
        @inline(__always) public func callAsFunction(_ a: V, _ b: V) -> V { -a * b }
        @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { -a * b }
    }
    /// f(a, s) for a fixed s (a tensor against a one-element tensor).
    public struct BindSecond<F: SIMDBinaryFunction>: SIMDUnaryFunction {
        public let f: F, s: Float, sv: V
        public init(_ f: F, _ s: Float) { self.f = f; self.s = s; sv = V(repeating: s) }
        @inline(__always) public func callAsFunction(_ a: V) -> V { f(a, sv) }
        @inline(__always) public func callAsFunction(_ a: Float) -> Float { f(a, s) }
    }
    /// f(s, b) for a fixed s.
    public struct BindFirst<F: SIMDBinaryFunction>: SIMDUnaryFunction {
        public let f: F, s: Float, sv: V
        public init(_ f: F, _ s: Float) { self.f = f; self.s = s; sv = V(repeating: s) }
        @inline(__always) public func callAsFunction(_ b: V) -> V { f(sv, b) }
        @inline(__always) public func callAsFunction(_ b: Float) -> Float { f(s, b) }
    }
    /// a·scale + shift
    public struct Affine: SIMDUnaryFunction {
        public let scale: Float, shift: Float, sv: V, tv: V
        public init(scale: Float, shift: Float) {
            self.scale = scale; self.shift = shift; sv = V(repeating: scale); tv = V(repeating: shift)
        }
        @inline(__always) public func callAsFunction(_ a: V) -> V { a * sv + tv }
        @inline(__always) public func callAsFunction(_ a: Float) -> Float { a * scale + shift }
    }
    /// a·s
    public struct Scale: SIMDUnaryFunction {
        public let s: Float, sv: V
        public init(_ s: Float) { self.s = s; sv = V(repeating: s) }
        @inline(__always) public func callAsFunction(_ a: V) -> V { a * sv }
        @inline(__always) public func callAsFunction(_ a: Float) -> Float { a * s }
    }
    public struct Negate: SIMDUnaryFunction {
        public init() {}
        @inline(__always) public func callAsFunction(_ a: V) -> V { -a }
        @inline(__always) public func callAsFunction(_ a: Float) -> Float { -a }
    }
}
