/// Decoder for PLAIN-encoded values (data pages and dictionary pages).
enum ParquetPlainDecoder {
    /// Decodes `count` values of `type` from the front of `storage[range]`. Byte arrays keep
    /// pointing into `storage` rather than being copied.
    static func decode(_ storage: [UInt8], _ range: Range<Int>, type: ParquetPhysicalType, typeLength: Int,
                       count: Int) throws -> ParquetValueBuffer {
        if type == .byteArray { return try byteArrays(storage, range, count: count) }
        return try storage.withUnsafeBytes { whole in
            try decode(UnsafeRawBufferPointer(rebasing: whole[range]), type: type, typeLength: typeLength, count: count)
        }
    }

    /// Each value: a 4-byte little-endian length, then the bytes; lengths are checked as they are read.
    private static func byteArrays(_ storage: [UInt8], _ range: Range<Int>, count: Int) throws -> ParquetValueBuffer {
        var starts = [Int](repeating: 0, count: count)
        var lengths = [Int](repeating: 0, count: count)
        try storage.withUnsafeBytes { whole in
            var position = range.lowerBound
            let end = range.upperBound
            for i in 0..<count {
                guard end - position >= 4 else { throw shortData(count, "BYTE_ARRAY", range.count) }
                let length = Int(whole.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian)
                position += 4
                guard length <= end - position else {
                    throw ParquetDecodeError("BYTE_ARRAY value \(i) claims \(length) bytes; \(end - position) are left in the page")
                }
                starts[i] = position
                lengths[i] = length
                position += length
            }
        }
        return .bytes(storage: storage, starts: starts, lengths: lengths)
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, type: ParquetPhysicalType, typeLength: Int,
                               count: Int) throws -> ParquetValueBuffer {
        switch type {
        case .boolean:
            guard (count + 7) / 8 <= bytes.count else { throw shortData(count, "BOOLEAN", bytes.count) }
            var values = [Bool](repeating: false, count: count)
            for i in 0..<count { values[i] = (bytes[i >> 3] >> UInt8(i & 7)) & 1 == 1 }
            return .bool(values)
        case .int32: return .int32(try fixed(bytes, count: count, as: Int32.self, "INT32"))
        case .int64: return .int64(try fixed(bytes, count: count, as: Int64.self, "INT64"))
        case .float: return .float(try fixed(bytes, count: count, as: Float.self, "FLOAT"))
        case .double: return .double(try fixed(bytes, count: count, as: Double.self, "DOUBLE"))
        case .int96: return try fixedBytes(bytes, width: 12, count: count, "INT96")
        case .fixedLenByteArray:
            guard typeLength > 0 else { throw ParquetDecodeError("FIXED_LEN_BYTE_ARRAY column has type length \(typeLength)") }
            return try fixedBytes(bytes, width: typeLength, count: count, "FIXED_LEN_BYTE_ARRAY")
        case .byteArray:
            throw ParquetDecodeError("internal: BYTE_ARRAY values are decoded from their page buffer")
        }
    }

    private static func shortData(_ count: Int, _ type: String, _ available: Int) -> ParquetDecodeError {
        ParquetDecodeError("\(count) PLAIN \(type) values do not fit in the \(available) bytes of the page")
    }

    private static func fixed<T>(_ bytes: UnsafeRawBufferPointer, count: Int, as: T.Type, _ name: String) throws -> [T] {
        let width = MemoryLayout<T>.size
        guard count * width <= bytes.count else { throw shortData(count, name, bytes.count) }
        // Parquet is little-endian, as are the platforms Swift targets here.
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0, let dst = out.baseAddress, let src = bytes.baseAddress {
                UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * width)
            }
            initialized = count
        }
    }

    private static func fixedBytes(_ bytes: UnsafeRawBufferPointer, width: Int, count: Int, _ name: String) throws -> ParquetValueBuffer {
        guard width <= Int(Int32.max), count * width <= bytes.count else { throw shortData(count, name, bytes.count) }
        let storage = Array(bytes[0..<(count * width)])
        return .bytes(storage: storage, starts: (0..<count).map { $0 * width }, lengths: [Int](repeating: width, count: count))
    }
}
