import Foundation

// Index-driven ops: gather rows, scatter-add rows, gather along the last axis, masked fill.
// Indices come from model code (routing, token positions); callers validate user-supplied ids.

/// Slices `indices` along `axis` (repeats allowed): out.shape[axis] = indices.count.
/// Backward scatter-adds the gradient, so repeated indices accumulate.
public func indexSelect(_ x: Tensor, axis: Int = 0, indices: [Int]) -> Tensor {
    let a = x.normalizedAxis(axis)
    let (outer, len, inner) = x.axisLayout(a)
    for i in indices {
        precondition(i >= 0 && i < len, "indexSelect: index \(i) out of range for axis \(a) of shape \(x.shape)")
    }
    var outShape = x.shape
    outShape[a] = indices.count
    let out = Tensor.uninitialized(outShape)
    let m = indices.count
    let xp = x.pointer, o = out.mutablePointer
    Threads.parallelFor(outer * m, minChunk: Swift.max(1, 16_384 / Swift.max(inner, 1))) { range in
        for job in range {
            let b = job / m, j = job % m
            (o + job * inner).update(from: xp + (b * len + indices[j]) * inner, count: inner)
        }
    }
    return Tensor.record("indexSelect", output: out, inputs: [x]) { g in
        let gx = Tensor.zeros(x.shape)
        let gp = g.pointer, p = gx.mutablePointer
        // Parallel over the outer axis only: rows of one outer block may repeat, so stay sequential inside.
        Threads.parallelFor(outer, minChunk: 1) { range in
            for b in range {
                for j in 0..<m {
                    IndexingKernel.addRow(p + (b * len + indices[j]) * inner, gp + (b * m + j) * inner, count: inner)
                }
            }
        }
        return [gx]
    }
}

/// Out of place: a copy of `base` [N, ...] with `source` [M, ...] row m added into row `rows[m]`
/// (repeats accumulate). Differentiable in base (identity) and source (the rows of the gradient).
public func scatterAdd(into base: Tensor, rows: [Int], source: Tensor) -> Tensor {
    precondition(base.rank >= 1 && source.rank == base.rank && Array(source.shape.dropFirst()) == Array(base.shape.dropFirst()),
                 "scatterAdd: source \(source.shape) rows must match base \(base.shape) rows")
    precondition(source.shape[0] == rows.count,
                 "scatterAdd: \(rows.count) row indices for source \(source.shape) with \(source.shape[0]) rows")
    let n = base.shape[0], inner = n == 0 ? 0 : base.count / n
    for r in rows { precondition(r >= 0 && r < n, "scatterAdd: row \(r) out of range for base \(base.shape)") }
    let out = base.copy()
    let o = out.mutablePointer, sp = source.pointer
    for (m, r) in rows.enumerated() { IndexingKernel.addRow(o + r * inner, sp + m * inner, count: inner) }
    return Tensor.record("scatterAdd", output: out, inputs: [base, source]) { g in
        [base.needsGrad ? g.copy() : nil, source.needsGrad ? indexSelect(g, axis: 0, indices: rows) : nil]
    }
}

/// out[r] = x[r, indices[r]] along the last axis: x [..., n] → [...], one index per row.
public func gather(_ x: Tensor, indices: [Int]) -> Tensor {
    precondition(x.rank >= 1, "gather: input must have at least one axis, got \(x.shape)")
    let n = x.shape[x.rank - 1], rows = n == 0 ? 0 : x.count / n
    precondition(indices.count == rows, "gather: \(indices.count) indices for \(rows) rows of \(x.shape)")
    for i in indices { precondition(i >= 0 && i < n, "gather: index \(i) out of range for last axis of \(x.shape)") }
    let out = Tensor.uninitialized(Array(x.shape.dropLast()))
    let xp = x.pointer, o = out.mutablePointer
    for r in 0..<rows { o[r] = xp[r * n + indices[r]] }
    return Tensor.record("gather", output: out, inputs: [x]) { g in
        let gx = Tensor.zeros(x.shape)
        let gp = g.pointer, p = gx.mutablePointer
        for r in 0..<rows { p[r * n + indices[r]] = gp[r] }
        return [gx]
    }
}

/// `value` where `mask` is true, x elsewhere (mask has one flag per element of x, row-major).
/// The gradient passes only where the mask is false.
public func maskedFill(_ x: Tensor, mask: [Bool], value: Float) -> Tensor {
    precondition(mask.count == x.count, "maskedFill: \(mask.count) mask flags for \(x.count) elements of \(x.shape)")
    let out = Tensor.uninitialized(x.shape)
    let xp = x.pointer, o = out.mutablePointer
    for i in 0..<x.count { o[i] = mask[i] ? value : xp[i] }
    return Tensor.record("maskedFill", output: out, inputs: [x]) { g in
        let gx = Tensor.uninitialized(x.shape)
        let gp = g.pointer, p = gx.mutablePointer
        for i in 0..<x.count { p[i] = mask[i] ? 0 : gp[i] }
        return [gx]
    }
}

enum IndexingKernel {
    /// dst[i] += src[i] for one row, single-threaded (callers parallelise over rows).
    @inline(__always)
    static func addRow(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count { Kernels.store(Kernels.load(UnsafePointer(dst), i) + Kernels.load(src, i), dst, i); i += 16 }
        while i < count { dst[i] += src[i]; i += 1 }
    }
}
