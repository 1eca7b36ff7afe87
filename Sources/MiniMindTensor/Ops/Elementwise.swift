import Foundation

// Broadcasting arithmetic with autograd. Fast paths: equal shapes, a scalar, a trailing-row
// operand (bias, per-channel scale); anything else goes through the general strided loop.

extension Tensor {
    /// out = f(a, b) with broadcasting, no autograd. `f` is a struct so the loops inline its body.
    static func broadcastBinary<F: SIMDBinaryFunction>(_ a: Tensor, _ b: Tensor, op: String, _ f: F) -> Tensor {
        if a.shape == b.shape {
            let out = Tensor.uninitialized(a.shape)
            Kernels.binary(a.pointer, b.pointer, out.mutablePointer, count: a.count, f)
            return out
        }
        let shape = Broadcast.shape(a.shape, b.shape, op: op)
        let out = Tensor.uninitialized(shape)
        let o = out.mutablePointer, pa = a.pointer, pb = b.pointer
        if shape == a.shape, let n = Broadcast.trailingRepeat(b.shape, into: a.shape), n > 0 {
            if n == 1 {
                Kernels.unary(pa, o, count: a.count, SIMDFunctions.BindSecond(f, pb[0]))
            } else {
                for r in 0..<(a.count / n) { Kernels.binary(pa + r * n, pb, o + r * n, count: n, f) }
            }
            return out
        }
        if shape == b.shape, let n = Broadcast.trailingRepeat(a.shape, into: b.shape), n > 0 {
            if n == 1 {
                Kernels.unary(pb, o, count: b.count, SIMDFunctions.BindFirst(f, pa[0]))
            } else {
                for r in 0..<(b.count / n) { Kernels.binary(pa, pb + r * n, o + r * n, count: n, f) }
            }
            return out
        }
        Broadcast.forEach(shape, Broadcast.strides(of: a.shape, in: shape), Broadcast.strides(of: b.shape, in: shape)) {
            o[$0] = f(pa[$1], pb[$2])
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "add", SIMDFunctions.Add())
        return record("add", output: out, inputs: [a, b]) { g in
            [a.needsGrad ? g.sumToShape(a.shape) : nil, b.needsGrad ? g.sumToShape(b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "sub", SIMDFunctions.Subtract())
        return record("sub", output: out, inputs: [a, b]) { g in
            [a.needsGrad ? g.sumToShape(a.shape) : nil, b.needsGrad ? g.negated().sumToShape(b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "mul", SIMDFunctions.Multiply())
        return record("mul", output: out, inputs: [a, b]) { g in
            [a.needsGrad ? broadcastBinary(g, b, op: "mul.backward", SIMDFunctions.Multiply()).sumToShape(a.shape) : nil,
             b.needsGrad ? broadcastBinary(g, a, op: "mul.backward", SIMDFunctions.Multiply()).sumToShape(b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let out = broadcastBinary(a, b, op: "div", SIMDFunctions.Divide())
        return record("div", output: out, inputs: [a, b]) { g in
            let ga = a.needsGrad ? broadcastBinary(g, b, op: "div.backward", SIMDFunctions.Divide()).sumToShape(a.shape) : nil
            var gb: Tensor? = nil
            if b.needsGrad {
                // d(a/b)/db = -a/b² = -out/b
                let q = broadcastBinary(out.detached(), b, op: "div.backward", SIMDFunctions.Divide())
                gb = broadcastBinary(g, q, op: "div.backward", SIMDFunctions.NegatedProduct()).sumToShape(b.shape)
            }
            return [ga, gb]
        }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }

    /// scale·x + shift.
    public func affine(scale: Float, shift: Float) -> Tensor {
        let out = Tensor.uninitialized(shape)
        Kernels.unary(pointer, out.mutablePointer, count: count, SIMDFunctions.Affine(scale: scale, shift: shift))
        return Tensor.record("affine", output: out, inputs: [self]) { g in [g * scale] }
    }

    /// −x without recording.
    func negated() -> Tensor {
        let out = Tensor.uninitialized(shape)
        Kernels.unary(pointer, out.mutablePointer, count: count, SIMDFunctions.Negate())
        return out
    }

    /// Applies `f` elementwise and records `df` (derivative from input x and output y).
    public func mapElements(_ name: String, _ f: @escaping (Float) -> Float,
                            derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let out = Tensor.uninitialized(shape)
        Kernels.map(pointer, out.mutablePointer, count: count, f)
        return Tensor.record(name, output: out, inputs: [self]) { [self] g in
            let gi = Tensor.uninitialized(self.shape)
            let x = self.pointer, y = out.pointer, gp = g.pointer, o = gi.mutablePointer
            Threads.parallelFor(self.count, minChunk: 1 << 14) { r in
                for i in r { o[i] = gp[i] * derivative(x[i], y[i]) }
            }
            return [gi]
        }
    }

    public func exp() -> Tensor { mapElements("exp", { Foundation.exp($0) }, derivative: { _, y in y }) }
    public func log() -> Tensor { mapElements("log", { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    public func sqrt() -> Tensor { mapElements("sqrt", { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    public func square() -> Tensor { mapElements("square", { $0 * $0 }, derivative: { x, _ in 2 * x }) }
    public func tanh() -> Tensor { mapElements("tanh", { Foundation.tanh($0) }, derivative: { _, y in 1 - y * y }) }
    public func sigmoid() -> Tensor {
        mapElements("sigmoid", { 1 / (1 + Foundation.exp(-$0)) }, derivative: { _, y in y * (1 - y) })
    }
    public func pow(_ p: Float) -> Tensor {
        mapElements("pow", { Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
    }
}
