import Foundation

/// Packing quantised values (natural row-major order, as `WeightQuantizer` makes them and the
/// quantised files store them) into `PackedMatrix`'s kernel order, and back to float32.
extension PackedMatrix {
    /// An int8 (`bits` 8, scales per `group` values of a row) or int4 (`bits` 4, group 32) matrix
    /// from signed values `value(e)` of element e = r·cols + c. `group` divides `cols`, which is
    /// a multiple of 32.
    convenience init(rows: Int, cols: Int, bits: Int, group: Int, scales: [Float], value: (Int) -> Int) {
        precondition(cols % Self.block == 0 && group % Self.block == 0 && cols % group == 0,
                     "PackedMatrix: \(cols) columns in groups of \(group) do not split into blocks of \(Self.block)")
        precondition(scales.count == rows * cols / group, "PackedMatrix: \(scales.count) scales for \(rows)×\(cols) in groups of \(group)")
        if bits == 8 {
            var values = [Int8](repeating: 0, count: rows * cols)
            for e in 0..<(rows * cols) {
                values[e / Self.block * Self.block + PackedLayout.int8(e % Self.block)] = Int8(value(e))
            }
            self.init(rows: rows, cols: cols, storage: .int8(values: values, scales: scales, group: group))
        } else {
            precondition(bits == 4 && group == Self.block, "PackedMatrix: int4 takes one scale per \(Self.block) values")
            let perRow = Self.int4WordsPerRow(cols)
            var words = [UInt32](repeating: 0, count: rows * perRow)
            for r in 0..<rows {
                for c in 0..<cols {
                    let (word, shift) = PackedLayout.int4(c)
                    words[r * perRow + word] |= UInt32(value(r * cols + c) + 8) << shift
                }
            }
            self.init(rows: rows, cols: cols, storage: .int4(words: words, scales: scales))
        }
    }

    /// Words of one int4 row: 8 per 64 values (a row of 32·odd values ends in a half-used pair).
    static func int4WordsPerRow(_ cols: Int) -> Int { (cols + 63) / 64 * 8 }

    /// The signed int4 value W[r, c] in `words`.
    static func int4Value(_ words: [UInt32], row r: Int, col c: Int, cols: Int) -> Int {
        let (word, shift) = PackedLayout.int4(c)
        return Int((words[r * int4WordsPerRow(cols) + word] >> shift) & 0xF) - 8
    }

    /// The signed values in natural order (what the files store), for saving a loaded model.
    func quantizedValues() -> (values: [Int8], scales: [Float], group: Int)? {
        switch storage {
        case .bf16: return nil
        case .int8(let v, let s, let group):
            var out = [Int8](repeating: 0, count: rows * cols)
            for e in 0..<out.count { out[e] = v[e / Self.block * Self.block + PackedLayout.int8(e % Self.block)] }
            return (out, s, group)
        case .int4(let w, let s):
            var out = [Int8](repeating: 0, count: rows * cols)
            for r in 0..<rows {
                for c in 0..<cols { out[r * cols + c] = Int8(Self.int4Value(w, row: r, col: c, cols: cols)) }
            }
            return (out, s, Self.block)
        }
    }

    /// W as float32 [rows, cols] into `w`: how the prefill and training paths of a layer that has
    /// only this copy multiply many rows (one layer at a time, freed after the product).
    func dequantize(into w: UnsafeMutablePointer<Float>) {
        switch storage {
        case .bf16:
            for r in 0..<rows {
                for c in 0..<cols { w[r * cols + c] = value(row: r, col: c) }
            }
        case .int8(let v, let s, let group):
            for b in 0..<(rows * cols / Self.block) {
                let scale = s[b * Self.block / group], o = b * Self.block
                for j in 0..<Self.block { w[o + j] = Float(v[o + PackedLayout.int8(j)]) * scale }
            }
        case .int4(let words, let s):
            let perRow = Self.int4WordsPerRow(cols)
            for r in 0..<rows {
                for c in 0..<cols {
                    let (word, shift) = PackedLayout.int4(c)
                    let q = Int((words[r * perRow + word] >> shift) & 0xF) - 8
                    w[r * cols + c] = Float(q) * s[(r * cols + c) / Self.block]
                }
            }
        }
    }
}
