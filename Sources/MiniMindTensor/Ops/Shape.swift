import Foundation

// Shape manipulation. Tensors stay contiguous: reshape and leading-axis slices are views,
// transpose/permute and inner slices materialise.

extension Tensor {
    /// Same elements, new shape; one dimension may be -1. Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshape: cannot view shape \(shape) as \(newShape)")
            s[i] = count / known
        }
        precondition(Tensor.elementCount(s) == count, "reshape: cannot view shape \(shape) as \(newShape)")
        let out = Tensor(storage: storage, shape: s, offset: offset)
        return Tensor.record("reshape", output: out, inputs: [self]) { [shape] g in [g.reshaped(shape)] }
    }

    /// Reorders axes: output axis i is input axis `dims[i]`. Materialises.
    public func permuted(_ dims: [Int]) -> Tensor {
        precondition(dims.sorted() == Array(0..<rank), "permute: \(dims) is not a permutation of the axes of \(shape)")
        if dims == Array(0..<rank) { return reshaped(shape) }
        let outShape = dims.map { shape[$0] }
        let out = Tensor.uninitialized(outShape)
        var inStrides = Array(repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let srcStrides = dims.map { inStrides[$0] }
        let x = pointer, o = out.mutablePointer
        // Copy whole innermost runs when the last axis stays last.
        if dims.last == rank - 1 {
            let inner = shape[rank - 1]
            let outerShape = Array(outShape.dropLast()), outerStrides = Array(srcStrides.dropLast())
            Broadcast.forEach(outerShape, outerStrides, outerStrides) { oi, si, _ in
                (o + oi * inner).update(from: x + si, count: inner)
            }
        } else {
            Broadcast.forEach(outShape, srcStrides, srcStrides) { oi, si, _ in o[oi] = x[si] }
        }
        var inverse = Array(repeating: 0, count: rank)
        for (i, d) in dims.enumerated() { inverse[d] = i }
        return Tensor.record("permute", output: out, inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes (materialises).
    public func transposed(_ a0: Int = -2, _ a1: Int = -1) -> Tensor {
        var dims = Array(0..<rank)
        dims.swapAt(normalizedAxis(a0), normalizedAxis(a1))
        return permuted(dims)
    }

    /// Elements `range` along `axis`. A view when every axis before `axis` has size 1.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a],
                     "slice: range \(range) out of bounds for axis \(a) of shape \(shape)")
        var outShape = shape
        outShape[a] = range.count
        let (outer, len, inner) = axisLayout(a)
        let out: Tensor
        if outer == 1 {
            out = Tensor(storage: storage, shape: outShape, offset: offset + range.lowerBound * inner)
        } else {
            out = Tensor.uninitialized(outShape)
            let x = pointer, o = out.mutablePointer
            for b in 0..<outer {
                (o + b * range.count * inner).update(from: x + (b * len + range.lowerBound) * inner, count: range.count * inner)
            }
        }
        return Tensor.record("slice", output: out, inputs: [self]) { [shape] g in
            let gi = Tensor.zeros(shape)
            let gp = g.pointer, p = gi.mutablePointer
            for b in 0..<outer {
                (p + (b * len + range.lowerBound) * inner).update(from: gp + b * range.count * inner, count: range.count * inner)
            }
            return [gi]
        }
    }

    /// Joins tensors along `axis`; all other dimensions must match.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat: no tensors")
        let first = tensors[0]
        let a = first.normalizedAxis(axis)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "concat(axis: \(a)): shapes \(first.shape) and \(t.shape) do not match outside the axis")
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        let out = Tensor.uninitialized(outShape)
        let o = out.mutablePointer, total = outShape[a]
        var start = 0
        var starts: [Int] = []
        for t in tensors {
            starts.append(start)
            let len = t.shape[a], x = t.pointer
            for b in 0..<outer { (o + (b * total + start) * inner).update(from: x + b * len * inner, count: len * inner) }
            start += len
        }
        return record("concat", output: out, inputs: tensors) { g in
            zip(tensors, starts).map { t, s in t.needsGrad ? g.slice(axis: a, s..<(s + t.shape[a])) : nil }
        }
    }

    /// Stacks equal-shaped tensors along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: no tensors")
        let s = tensors[0].shape
        let a = axis < 0 ? axis + s.count + 1 : axis
        precondition(a >= 0 && a <= s.count, "stack: axis \(axis) out of range for shape \(s)")
        var expanded = s
        expanded.insert(1, at: a)
        return concat(tensors.map { t in
            precondition(t.shape == s, "stack: shapes \(s) and \(t.shape) differ")
            return t.reshaped(expanded)
        }, axis: a)
    }
}
