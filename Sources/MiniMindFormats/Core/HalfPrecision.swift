/// Exact widening of IEEE half to Float32, and round-to-nearest-even narrowing that matches
/// PyTorch's `.half()` (c10's bit algorithm). Bit arithmetic keeps these independent of Float16
/// availability and of the target's F16C support. bfloat16 is `BFloat16Bits` (MiniMindTensor).
enum HalfPrecision {
    /// All 65,536 half values widened (256 KB): a load per element beats branching on subnormals.
    static let halfToFloatTable: [Float] = (0...0xFFFF).map { halfBitsToFloat(UInt16($0)) }

    /// Exact widening of one IEEE binary16 bit pattern (zeros, subnormals, inf, NaN payloads).
    static func halfBitsToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h) & 0x3FF
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2^-24 is exact in Float32.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Round-to-nearest-even Float32 → binary16 (c10 `fp16_ieee_from_fp32_value`): the float adder
    /// performs the rounding; overflow gives inf, NaN gives the canonical quiet NaN 0x7E00.
    @inline(__always)
    static func floatToHalfBits(_ f: Float) -> UInt16 {
        let scaleToInf = Float(bitPattern: 0x7780_0000)   // 2^112
        let scaleToZero = Float(bitPattern: 0x0880_0000)  // 2^-110
        var base = (abs(f) * scaleToInf) * scaleToZero
        let w = f.bitPattern
        let shl1 = w &+ w
        let sign = w & 0x8000_0000
        var bias = shl1 & 0xFF00_0000
        if bias < 0x7100_0000 { bias = 0x7100_0000 }
        base = Float(bitPattern: (bias >> 1) &+ 0x0780_0000) + base
        let bits = base.bitPattern
        let expBits = (bits >> 13) & 0x0000_7C00
        let mantissaBits = bits & 0x0000_0FFF
        let nonsign = expBits &+ mantissaBits
        return UInt16(truncatingIfNeeded: (sign >> 16) | (shl1 > 0xFF00_0000 ? 0x7E00 : nonsign))
    }
}
