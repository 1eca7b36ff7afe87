import Foundation

extension Tensor {
    /// (outer, length, inner) sizes around `axis`, the layout every axis reduction walks.
    func axisLayout(_ axis: Int) -> (outer: Int, length: Int, inner: Int) {
        let a = normalizedAxis(axis)
        return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
    }

    func reducedShape(_ axis: Int, keepDims: Bool) -> [Int] {
        let a = normalizedAxis(axis)
        var s = shape
        if keepDims { s[a] = 1 } else { s.remove(at: a) }
        return s
    }

    /// Sum of all elements (a scalar tensor), accumulated in Double.
    public func sum() -> Tensor {
        let out = Tensor(scalar: Float(Kernels.sumDouble(pointer, count: count)))
        return Tensor.record("sum", output: out, inputs: [self]) { [shape] g in [Tensor.full(shape, value: g.item)] }
    }

    public func mean() -> Tensor {
        let n = Float(Swift.max(count, 1))
        return sum() / n
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let (outer, len, inner) = axisLayout(axis)
        let out = Tensor.zeros(reducedShape(axis, keepDims: keepDims))
        let x = pointer, o = out.mutablePointer
        for b in 0..<outer {
            for k in 0..<len { Kernels.addInPlace(o + b * inner, x + (b * len + k) * inner, count: inner) }
        }
        return Tensor.record("sum(axis)", output: out, inputs: [self]) { [shape] g in
            let gi = Tensor.uninitialized(shape)
            let gp = g.pointer, o = gi.mutablePointer
            for b in 0..<outer {
                for k in 0..<len { (o + (b * len + k) * inner).update(from: gp + b * inner, count: inner) }
            }
            return [gi]
        }
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        sum(axis: axis, keepDims: keepDims) / Float(dim(axis))
    }

    /// Maximum along `axis`; the gradient flows to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let (outer, len, inner) = axisLayout(axis)
        precondition(len > 0, "max(axis: \(axis)): empty axis in shape \(shape)")
        let out = Tensor.uninitialized(reducedShape(axis, keepDims: keepDims))
        var where_ = [Int](repeating: 0, count: outer * inner)
        let x = pointer, o = out.mutablePointer
        for b in 0..<outer {
            for i in 0..<inner {
                var best = x[b * len * inner + i], bi = 0
                for k in 1..<len where x[(b * len + k) * inner + i] > best { best = x[(b * len + k) * inner + i]; bi = k }
                o[b * inner + i] = best
                where_[b * inner + i] = bi
            }
        }
        return Tensor.record("max(axis)", output: out, inputs: [self]) { [shape] g in
            let gi = Tensor.zeros(shape)
            let gp = g.pointer, p = gi.mutablePointer
            for b in 0..<outer {
                for i in 0..<inner { p[(b * len + where_[b * inner + i]) * inner + i] = gp[b * inner + i] }
            }
            return [gi]
        }
    }

    /// Index of the first maximum along `axis`, flattened in the reduced shape's row-major order.
    public func argmax(axis: Int = -1) -> [Int] {
        let (outer, len, inner) = axisLayout(axis)
        precondition(len > 0, "argmax(axis: \(axis)): empty axis in shape \(shape)")
        var result = [Int](repeating: 0, count: outer * inner)
        let x = pointer
        for b in 0..<outer {
            for i in 0..<inner {
                var best = x[b * len * inner + i], bi = 0
                for k in 1..<len where x[(b * len + k) * inner + i] > best { best = x[(b * len + k) * inner + i]; bi = k }
                result[b * inner + i] = bi
            }
        }
        return result
    }
}
