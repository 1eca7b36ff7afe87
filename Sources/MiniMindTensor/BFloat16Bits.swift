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

    typealias Lanes = SIMD16<UInt32>

    /// `round` on 16 values at once, the same bits, in integer lanes. (The scalar loop did not
    /// vectorise: rounding the activations took 15 % of a bf16 training step.) NaN is picked by an
    /// arithmetic mask, not a SIMD comparison, which Swift lowers to a loop over the lanes: for
    /// |bits| above infinity's 0x7F800000 the difference wraps negative and the shift fills the lane.
    @inline(__always)
    static func round(_ bits: Lanes) -> SIMD16<UInt16> {
        let nearestEven = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
        let quietNaN = (bits &>> 16) | 0x40
        let nan = Lanes(truncatingIfNeeded: SIMD16<Int32>(truncatingIfNeeded: 0x7F80_0000 &- (bits & 0x7FFF_FFFF)) &>> 31)
        return SIMD16<UInt16>(truncatingIfNeeded: (nearestEven & ~nan) | (quietNaN & nan))
    }

    /// Rounds `count` values of `x` into `out`, 16 at a time, on the calling thread.
    static func round(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<UInt16>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: Lanes.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: round(v), as: SIMD16<UInt16>.self)
            i += 16
        }
        while i < count { out[i] = round(x[i]); i += 1 }
    }

    /// `count` values rounded to bfloat16 across the pool, in a buffer that large roundings take from
    /// `BufferPool` (a fresh mapping per product cost a bf16 step 6 % in page faults).
    static func rounded(_ x: UnsafePointer<Float>, count: Int) -> Buffer {
        let out = Buffer(count: count)
        let bits = out.bits
        Threads.parallelFor(count, minChunk: 65_536) { r in round(x + r.lowerBound, into: bits + r.lowerBound, count: r.count) }
        return out
    }

    /// bfloat16 values in pooled storage, returned to the pool when released.
    final class Buffer: @unchecked Sendable {
        private let storage: TensorStorage
        let bits: UnsafeMutablePointer<UInt16>
        init(count: Int) {
            storage = TensorStorage(count: (count + 1) / 2, zeroed: false)
            bits = UnsafeMutableRawPointer(storage.pointer).bindMemory(to: UInt16.self, capacity: max(1, count))
        }
    }
}
