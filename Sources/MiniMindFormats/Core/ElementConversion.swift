/// Bulk conversions between stored element types and Float32. Sources may be unaligned (safetensors
/// offsets are only byte-aligned), so loads are `loadUnaligned`, which is a plain load on x86/arm64.
enum ElementConversion {
    private static let minChunk = 1 << 16

    /// Widens `count` elements of `dtype` at `src` into `dst` (exact for f16/bf16; f64 and
    /// 64-bit integers round to nearest like torch's `.float()`).
    static func toFloat(_ src: UnsafeRawPointer, _ dtype: DType, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        switch dtype {
        case .f32:
            dst.withMemoryRebound(to: UInt8.self, capacity: count * 4) {
                $0.update(from: src.assumingMemoryBound(to: UInt8.self), count: count * 4)
            }
        case .f16:
            HalfPrecision.halfToFloatTable.withUnsafeBufferPointer { table in
                guard let t = table.baseAddress else { return }
                Threads.parallelFor(count, minChunk: minChunk) { r in
                    for i in r { dst[i] = t[Int(src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))] }
                }
            }
        case .bf16:
            Threads.parallelFor(count, minChunk: minChunk) { r in
                for i in r {
                    dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)) << 16)
                }
            }
        case .f64:
            Threads.parallelFor(count, minChunk: minChunk) { r in
                for i in r { dst[i] = Float(src.loadUnaligned(fromByteOffset: i &* 8, as: Double.self)) }
            }
        case .i64:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: i &* 8, as: Int64.self)) }
        case .i32:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: i &* 4, as: Int32.self)) }
        case .i16:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: i &* 2, as: Int16.self)) }
        case .i8:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .u8:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        case .bool:
            for i in 0..<count { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
        }
    }

    /// Narrows Float32 into a floating-point `dtype` with round-to-nearest-even (torch's rule).
    /// Returns false for non-floating dtypes (the caller reports the error).
    static func fromFloat(_ src: UnsafePointer<Float>, _ dtype: DType, _ dst: UnsafeMutableRawPointer, _ count: Int) -> Bool {
        switch dtype {
        case .f32:
            dst.copyMemory(from: src, byteCount: count * 4)
        case .f16:
            let out = dst.assumingMemoryBound(to: UInt16.self)
            Threads.parallelFor(count, minChunk: minChunk) { r in
                for i in r { out[i] = HalfPrecision.floatToHalfBits(src[i]) }
            }
        case .bf16:
            let out = dst.assumingMemoryBound(to: UInt16.self)
            Threads.parallelFor(count, minChunk: minChunk) { r in
                for i in r { out[i] = BFloat16Bits.round(src[i]) }
            }
        case .f64:
            let out = dst.assumingMemoryBound(to: Double.self)
            for i in 0..<count { out[i] = Double(src[i]) }
        default:
            return false
        }
        return true
    }

    /// Integer view of `count` elements (integers and bools only).
    static func toInt64(_ src: UnsafeRawPointer, _ dtype: DType, _ count: Int) -> [Int64]? {
        var out = [Int64](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { dst in
            switch dtype {
            case .i64: for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: i &* 8, as: Int64.self) }
            case .i32: for i in 0..<count { dst[i] = Int64(src.loadUnaligned(fromByteOffset: i &* 4, as: Int32.self)) }
            case .i16: for i in 0..<count { dst[i] = Int64(src.loadUnaligned(fromByteOffset: i &* 2, as: Int16.self)) }
            case .i8: for i in 0..<count { dst[i] = Int64(src.load(fromByteOffset: i, as: Int8.self)) }
            case .u8: for i in 0..<count { dst[i] = Int64(src.load(fromByteOffset: i, as: UInt8.self)) }
            case .bool: for i in 0..<count { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
            default: break
            }
        }
        return dtype.isFloatingPoint ? nil : out
    }
}
