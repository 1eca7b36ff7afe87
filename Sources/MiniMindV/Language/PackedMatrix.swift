import Foundation

/// A weight matrix W [rows, cols] stored in a compact decode precision (see `DecodeDType`), multiplied
/// by a few float32 input rows: y[i, r] (+)= Σ_c W[r, c]·x[i, c]. Each weight row is read once for all
/// input rows, and the output rows are split across `Threads` (decode is one weight stream per token).
/// Made from float32 weights (decode copies) or from a quantised file's values (`PackedMatrix+Quantized`).
final class PackedMatrix {
    enum Storage: Equatable {
        /// bfloat16 bit patterns, row-major.
        case bf16([UInt16])
        /// int8 values row-major in `PackedLayout.int8` order per block of 32, and one scale per
        /// `group` values of a row (32: the Q8_0-style decode copies; cols: one scale per output channel).
        case int8(values: [Int8], scales: [Float], group: Int)
        /// int4 values in `PackedLayout.int4` order, `PackedMatrix.int4WordsPerRow` words a row, and
        /// one scale per 32 values of a row.
        case int4(words: [UInt32], scales: [Float])
    }

    /// Values per int8 block (as llama.cpp's Q8_0) and per int4 scale.
    static let block = WeightQuantizer.group

    let rows: Int, cols: Int
    let storage: Storage

    init(rows: Int, cols: Int, storage: Storage) {
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// Packs a float32 matrix [rows, cols]; nil for f32 (use the original), an int8/int4 matrix whose
    /// rows do not split into whole blocks, or non-finite weights.
    convenience init?(_ w: UnsafePointer<Float>, rows: Int, cols: Int, dtype: DecodeDType) {
        switch dtype {
        case .f32: return nil
        case .bf16:
            var bits = [UInt16](repeating: 0, count: rows * cols)
            for r in 0..<rows {
                for c in 0..<cols { bits[r * cols + Self.bf16Index(c, cols: cols)] = BFloat16Bits.round(w[r * cols + c]) }
            }
            self.init(rows: rows, cols: cols, storage: .bf16(bits))
        case .int8, .int4:
            let bits = dtype == .int8 ? 8 : 4
            guard cols % Self.block == 0,
                  let (q, scales) = WeightQuantizer.quantize(w, rows: rows, cols: cols, group: Self.block, bits: bits) else { return nil }
            self.init(rows: rows, cols: cols, bits: bits, group: Self.block, scales: scales) { Int(q[$0]) }
        }
    }

    /// Bytes held by the packed copy.
    var byteCount: Int {
        switch storage {
        case .bf16(let v): return v.count * 2
        case .int8(let v, let s, _): return v.count + s.count * 4
        case .int4(let w, let s): return w.count * 4 + s.count * 4
        }
    }

    /// Dequantised W[r, c] (for tests and error reports).
    func value(row r: Int, col c: Int) -> Float {
        switch storage {
        case .bf16(let v): return BFloat16Bits.float(v[r * cols + Self.bf16Index(c, cols: cols)])
        case .int8(let v, let s, let group):
            let i = r * cols + c
            return Float(v[i / Self.block * Self.block + PackedLayout.int8(i % Self.block)]) * s[i / group]
        case .int4(let w, let s):
            return Float(Self.int4Value(w, row: r, col: c, cols: cols)) * s[(r * cols + c) / Self.block]
        }
    }

    private static func bf16Index(_ c: Int, cols: Int) -> Int {
        PackedLayout.index(c, cols: cols, group: PackedLayout.bf16Group, PackedLayout.bf16)
    }

    /// y [m, rows] = x [m, cols] · Wᵀ, or y += x · Wᵀ when `accumulate` (a residual add), with
    /// `kernel` (this CPU's best by default; tests also run `.portable`; `rowsPerPass`: the C bf16
    /// kernel's, by default `DecodeKernel.weightRowsPerPass(m:)`). The output rows are split into chunks of at least
    /// ~32 K weights across `Threads`, so the handoff stays small against the work.
    func multiply(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
                  kernel: DecodeKernel = .current, rowsPerPass: Int? = nil) {
        let rows = self.rows, cols = self.cols
        let minChunk = Swift.max(1, 32_768 / Swift.max(cols, 1))
        #if arch(x86_64)
        if kernel == .avx512 {
            multiplyAVX512(x, m: m, into: y, accumulate: accumulate, minChunk: minChunk,
                           rowsPerPass: rowsPerPass ?? DecodeKernel.weightRowsPerPass(m: m))
            return
        }
        #endif
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
        case .int8(let v, let s, let group):
            v.withUnsafeBufferPointer { vb in
                s.withUnsafeBufferPointer { sb in
                    let vp = vb.baseAddress!, sp = sb.baseAddress!
                    let blocksPerRow = cols / Self.block, blocksPerScale = group / Self.block, scalesPerRow = cols / group
                    Threads.parallelFor(rows, minChunk: minChunk) { range in
                        for r in range {
                            for i in 0..<m {
                                let d = PackedDot.int8(vp + r * cols, scales: sp + r * scalesPerRow, x + i * cols,
                                                       blocks: blocksPerRow, blocksPerScale: blocksPerScale)
                                y[i * rows + r] = accumulate ? y[i * rows + r] + d : d
                            }
                        }
                    }
                }
            }
        case .int4(let w, let s):
            w.withUnsafeBufferPointer { wb in
                s.withUnsafeBufferPointer { sb in
                    let wp = wb.baseAddress!, sp = sb.baseAddress!
                    let groups = cols / Self.block, wordsPerRow = Self.int4WordsPerRow(cols)
                    Threads.parallelFor(rows, minChunk: minChunk) { range in
                        for r in range {
                            for i in 0..<m {
                                let d = PackedDot.int4(wp + r * wordsPerRow, scales: sp + r * groups, x + i * cols, groups: groups)
                                y[i * rows + r] = accumulate ? y[i * rows + r] + d : d
                            }
                        }
                    }
                }
            }
        }
    }
}
