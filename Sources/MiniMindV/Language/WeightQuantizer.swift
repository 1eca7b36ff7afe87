import Foundation

/// Symmetric integer quantisation of a weight matrix W [rows, cols] (Docs/Formats.md, "Quantised
/// model folders"): each run of `group` consecutive values of a row shares one scale
/// s = max|w| / qmax (then rounded to the scale's storage type), and each value is stored as
/// q = clamp(round(w · (1/s)), −qmax, qmax) with halves rounded away from zero, so
/// |w − q·s| ≤ s/2. int8: qmax 127; int4: qmax 7. Values are in natural (row-major) order here;
/// `PackedMatrix` reorders them for its kernels, the files keep this order.
public enum WeightQuantizer {
    /// Values per scale of the int4 scheme (and of the in-memory Q8_0-style int8 decode copies).
    public static let group = 32

    public static func qmax(bits: Int) -> Int { bits == 4 ? 7 : 127 }

    /// Quantises `w` in groups of `group` values of a row (`group` divides `cols`). `roundScale`
    /// maps a scale to the value its storage type keeps (identity for f32). Nil when a weight or
    /// scale is not finite (the caller names the tensor).
    static func quantize(_ w: UnsafePointer<Float>, rows: Int, cols: Int, group: Int, bits: Int,
                         roundScale: (Float) -> Float = { $0 }) -> (values: [Int8], scales: [Float])? {
        precondition(group > 0 && cols % group == 0, "WeightQuantizer: group \(group) does not divide \(cols) columns")
        let qmax = Float(qmax(bits: bits))
        let groups = rows * cols / group
        var scales = [Float](repeating: 0, count: groups)
        var values = [Int8](repeating: 0, count: rows * cols)
        for g in 0..<groups {
            let base = w + g * group
            var maxAbs: Float = 0
            for j in 0..<group {
                guard base[j].isFinite else { return nil }
                maxAbs = Swift.max(maxAbs, abs(base[j]))
            }
            let scale = roundScale(maxAbs / qmax)
            guard scale.isFinite else { return nil }
            scales[g] = scale
            let inv: Float = scale > 0 ? 1 / scale : 0
            for j in 0..<group {
                let q = Swift.min(Swift.max((base[j] * inv).rounded(.toNearestOrAwayFromZero), -qmax), qmax)
                values[g * group + j] = Int8(q)
            }
        }
        return (values, scales)
    }

    /// int4 values (−8…7) two per byte: byte j of a row holds value 2j in its low nibble and 2j + 1
    /// in its high nibble, each stored as q + 8 (0…15). `cols` is even.
    static func packNibbles(_ q: [Int8], rows: Int, cols: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows * cols / 2)
        for i in 0..<out.count {
            out[i] = UInt8(Int(q[2 * i]) + 8) | UInt8(Int(q[2 * i + 1]) + 8) << 4
        }
        return out
    }

    /// The signed value (−8…7) of element `e` of nibble-packed bytes.
    @inline(__always)
    static func nibble(_ bytes: UnsafePointer<UInt8>, _ e: Int) -> Int {
        Int(e & 1 == 0 ? bytes[e / 2] & 0xF : bytes[e / 2] >> 4) - 8
    }

    /// W from quantised values (natural order) and scales: q · s of each value's group.
    static func dequantize(_ value: (Int) -> Int, scales: UnsafePointer<Float>, count: Int, group: Int,
                           into w: UnsafeMutablePointer<Float>) {
        for e in 0..<count { w[e] = Float(value(e)) * scales[e / group] }
    }
}
