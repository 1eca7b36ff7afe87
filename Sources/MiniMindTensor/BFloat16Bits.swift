/// bfloat16 as the upper half of a float32's bits: the library's one bfloat16 rounding (bf16 GEMM
/// operands, packed decode weights, bf16 tensors in safetensors/GGUF files).
public enum BFloat16Bits {
    /// Round to nearest even, as PyTorch's `.to(torch.bfloat16)` (c10's `round_to_nearest_even`);
    /// NaN stays a quiet NaN with its sign.
    @inlinable @inline(__always)
    public static func round(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    @inlinable @inline(__always)
    public static func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// A new buffer (the caller deallocates) of `count` values rounded to bfloat16, across the pool.
    static func rounded(_ x: UnsafePointer<Float>, count: Int) -> UnsafeMutablePointer<UInt16> {
        let out = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, count))
        Threads.parallelFor(count, minChunk: 65_536) { r in
            for i in r { out[i] = round(x[i]) }
        }
        return out
    }
}
