import Foundation

/// Broadcasting rules (NumPy/PyTorch): shapes align on the right; a dimension of 1 stretches.
public enum Broadcast {
    public static func shape(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let n = max(a.count, b.count)
        let pa = Array(repeating: 1, count: n - a.count) + a
        let pb = Array(repeating: 1, count: n - b.count) + b
        return (0..<n).map { i in
            precondition(pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1,
                         "\(op): shapes \(a) and \(b) cannot be broadcast together")
            return max(pa[i], pb[i])
        }
    }

    /// Strides of `shape` viewed inside `outShape`, with 0 for broadcast (stretched) dimensions.
    static func strides(of shape: [Int], in outShape: [Int]) -> [Int] {
        let padded = Array(repeating: 1, count: outShape.count - shape.count) + shape
        var strides = Array(repeating: 0, count: outShape.count)
        var s = 1
        for i in stride(from: outShape.count - 1, through: 0, by: -1) {
            strides[i] = padded[i] == 1 ? 0 : s
            s *= padded[i]
        }
        return strides
    }

    /// Calls `body(outIndex, aIndex, bIndex)` for every element of `outShape` (general slow path).
    static func forEach(_ outShape: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
        let total = Tensor.elementCount(outShape)
        if total == 0 { return }
        var idx = Array(repeating: 0, count: outShape.count)
        var ia = 0, ib = 0
        for o in 0..<total {
            body(o, ia, ib)
            var d = outShape.count - 1
            while d >= 0 {
                idx[d] += 1
                ia += sa[d]; ib += sb[d]
                if idx[d] < outShape[d] { break }
                ia -= sa[d] * outShape[d]; ib -= sb[d] * outShape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// If `small` broadcasts into `big` only by repeating it as trailing rows (e.g. a bias [N] or
    /// [1,N] against [M,N]), returns its element count; otherwise nil.
    static func trailingRepeat(_ small: [Int], into big: [Int]) -> Int? {
        var s = small
        while let f = s.first, f == 1, s.count > 0 { s.removeFirst() }
        guard s.count <= big.count, Array(big.suffix(s.count)) == s else { return nil }
        return Tensor.elementCount(s)
    }
}

extension Tensor {
    /// Sums a gradient of a broadcast result back to `shape` (the input's shape).
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor.zeros(target)
        let o = out.mutablePointer, g = pointer
        if let n = Broadcast.trailingRepeat(target, into: shape), n > 0, Tensor.elementCount(target) == n {
            let rows = count / n
            for r in 0..<rows { Kernels.addInPlace(o, g + r * n, count: n) }
            return out
        }
        let st = Broadcast.strides(of: target, in: shape)
        Broadcast.forEach(shape, st, st) { i, t, _ in o[t] += g[i] }
        return out
    }
}
