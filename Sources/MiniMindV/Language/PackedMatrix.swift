import Foundation

/// A weight matrix W [rows, cols] stored in a compact decode precision (see `DecodeDType`), multiplied
/// by a few float32 input rows: y[i, r] (+)= Σ_c W[r, c]·x[i, c]. Each weight row is read once for all
/// input rows, and the output rows are split across `Threads` (decode is one weight stream per token).
final class PackedMatrix {
    enum Storage {
        /// bfloat16 bit patterns, row-major.
        case bf16([UInt16])
        /// int8 values row-major, and one scale per block of `PackedMatrix.block` values of a row.
        case int8(values: [Int8], scales: [Float])
    }

    /// Values per int8 scale (as llama.cpp's Q8_0).
    static let block = 32

    let rows: Int, cols: Int
    let storage: Storage

    /// Packs a float32 matrix [rows, cols]; nil for f32 (use the original) or an int8 matrix whose
    /// rows do not split into whole blocks.
    init?(_ w: UnsafePointer<Float>, rows: Int, cols: Int, dtype: DecodeDType) {
        self.rows = rows
        self.cols = cols
        switch dtype {
        case .f32: return nil
        case .bf16:
            var bits = [UInt16](repeating: 0, count: rows * cols)
            for r in 0..<rows {
                for c in 0..<cols { bits[r * cols + Self.bf16Index(c, cols: cols)] = BFloat16Bits.round(w[r * cols + c]) }
            }
            storage = .bf16(bits)
        case .int8:
            guard cols % Self.block == 0 else { return nil }
            let blocks = rows * cols / Self.block
            var scales = [Float](repeating: 0, count: blocks)
            var values = [Int8](repeating: 0, count: rows * cols)
            for b in 0..<blocks {
                let base = w + b * Self.block
                var maxAbs: Float = 0
                for j in 0..<Self.block { maxAbs = Swift.max(maxAbs, abs(base[j])) }
                let scale = maxAbs / 127
                scales[b] = scale
                let inv: Float = scale > 0 ? 1 / scale : 0
                for j in 0..<Self.block { values[b * Self.block + PackedLayout.int8(j)] = Int8((base[j] * inv).rounded()) }
            }
            storage = .int8(values: values, scales: scales)
        }
    }

    /// Bytes held by the packed copy.
    var byteCount: Int {
        switch storage {
        case .bf16(let v): return v.count * 2
        case .int8(let v, let s): return v.count + s.count * 4
        }
    }

    /// Dequantised W[r, c] (for tests and error reports).
    func value(row r: Int, col c: Int) -> Float {
        switch storage {
        case .bf16(let v): return BFloat16Bits.float(v[r * cols + Self.bf16Index(c, cols: cols)])
        case .int8(let v, let s):
            let block = (r * cols + c) / Self.block
            return Float(v[block * Self.block + PackedLayout.int8(c % Self.block)]) * s[block]
        }
    }

    private static func bf16Index(_ c: Int, cols: Int) -> Int {
        PackedLayout.index(c, cols: cols, group: PackedLayout.bf16Group, PackedLayout.bf16)
    }

    /// y [m, rows] = x [m, cols] · Wᵀ, or y += x · Wᵀ when `accumulate` (a residual add).
    func multiply(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let rows = self.rows, cols = self.cols
        // Chunks of at least ~32 K weights so the thread handoff stays small against the work.
        let minChunk = Swift.max(1, 32_768 / Swift.max(cols, 1))
        switch storage {
        case .bf16(let w):
            w.withUnsafeBufferPointer { wb in
                let wp = wb.baseAddress!
                Threads.parallelFor(rows, minChunk: minChunk) { range in
                    for r in range {
                        for i in 0..<m {
                            let d = PackedDot.bf16(wp + r * cols, x + i * cols, count: cols)
                            y[i * rows + r] = accumulate ? y[i * rows + r] + d : d
                        }
                    }
                }
            }
        case .int8(let v, let s):
            v.withUnsafeBufferPointer { vb in
                s.withUnsafeBufferPointer { sb in
                    let vp = vb.baseAddress!, sp = sb.baseAddress!
                    let blocksPerRow = cols / Self.block
                    Threads.parallelFor(rows, minChunk: minChunk) { range in
                        for r in range {
                            for i in 0..<m {
                                let d = PackedDot.int8(vp + r * cols, scales: sp + r * blocksPerRow, x + i * cols, blocks: blocksPerRow)
                                y[i * rows + r] = accumulate ? y[i * rows + r] + d : d
                            }
                        }
                    }
                }
            }
        }
    }
}
