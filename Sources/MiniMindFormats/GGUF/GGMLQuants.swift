import Foundation

/// ggml's q8_0 and q4_0 blocks, computed operation for operation like the reference quantiser
/// (ggml-quants.c `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref`, and gguf-py's `quants`
/// module, which reproduces them bit for bit), so our files carry the bytes llama.cpp's tools write.
///
/// q8_0 block (34 bytes): f16 scale d = max|x| / 127, then 32 int8 values round(x / d) (halves away
/// from zero). q4_0 block (18 bytes): f16 scale d = x_m / -8 where x_m is the value of largest
/// magnitude (first one on ties), then 16 bytes holding q = min(15, trunc(x / d + 8.5)):
/// element j in the low nibble of byte j, element j + 16 in the high nibble.
public enum GGMLQuants {
    public static let blockSize = 32

    /// Quantises `values` (a multiple of 32) into q8_0 blocks appended to `out`.
    public static func quantizeQ8_0(_ values: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        precondition(values.count % blockSize == 0, "q8_0 needs a multiple of 32 values")
        for start in stride(from: 0, to: values.count, by: blockSize) {
            var amax: Float = 0
            for i in 0..<blockSize { amax = max(amax, abs(values[start + i])) }
            let d = amax / 127
            let id: Float = d == 0 ? 0 : 1 / d
            appendHalf(d, to: &out)
            for i in 0..<blockSize {
                let v = values[start + i] * id
                // np_roundf: floor(|v|) + floor(2·frac), with the sign of v.
                let a = abs(v), floored = a.rounded(.down)
                let r = floored + (2 * (a - floored)).rounded(.down)
                let q = v < 0 ? -r : r
                out.append(UInt8(bitPattern: Int8(clamping: Int(q.isFinite ? q : 0))))
            }
        }
    }

    /// Quantises `values` (a multiple of 32) into q4_0 blocks appended to `out`.
    public static func quantizeQ4_0(_ values: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        precondition(values.count % blockSize == 0, "q4_0 needs a multiple of 32 values")
        var q = [UInt8](repeating: 0, count: blockSize)
        for start in stride(from: 0, to: values.count, by: blockSize) {
            var amax: Float = 0, extreme: Float = 0
            for i in 0..<blockSize where abs(values[start + i]) > amax {
                amax = abs(values[start + i]); extreme = values[start + i]
            }
            let d = extreme / -8
            let id: Float = d == 0 ? 0 : 1 / d
            appendHalf(d, to: &out)
            for i in 0..<blockSize {
                let product = values[start + i] * id
                let shifted = product + 8.5
                let t = shifted.rounded(.towardZero)
                q[i] = t.isFinite && t > 0 ? UInt8(min(t, 15)) : 0
            }
            for j in 0..<(blockSize / 2) { out.append(q[j] | (q[j + blockSize / 2] << 4)) }
        }
    }

    /// Values of q8_0 blocks (d · q).
    public static func dequantizeQ8_0(_ blocks: UnsafeRawBufferPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<(count / blockSize) {
            let base = b * 34
            let d = HalfPrecision.halfBitsToFloat(UInt16(blocks[base]) | UInt16(blocks[base + 1]) << 8)
            for i in 0..<blockSize { out[b * blockSize + i] = d * Float(Int8(bitPattern: blocks[base + 2 + i])) }
        }
    }

    /// Values of q4_0 blocks (d · (q − 8)).
    public static func dequantizeQ4_0(_ blocks: UnsafeRawBufferPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<(count / blockSize) {
            let base = b * 18
            let d = HalfPrecision.halfBitsToFloat(UInt16(blocks[base]) | UInt16(blocks[base + 1]) << 8)
            for j in 0..<(blockSize / 2) {
                let byte = blocks[base + 2 + j]
                out[b * blockSize + j] = d * Float(Int(byte & 0x0F) - 8)
                out[b * blockSize + j + blockSize / 2] = d * Float(Int(byte >> 4) - 8)
            }
        }
    }

    private static func appendHalf(_ value: Float, to out: inout [UInt8]) {
        let h = HalfPrecision.floatToHalfBits(value)
        out.append(UInt8(h & 0xFF)); out.append(UInt8(h >> 8))
    }
}
