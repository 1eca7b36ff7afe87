/// Decoder for PLAIN-encoded values (data pages and dictionary pages).
enum ParquetPlainDecoder {
    /// Decodes `count` values of `type` from the front of `bytes`.
    static func decode(_ bytes: UnsafeRawBufferPointer, type: ParquetPhysicalType, typeLength: Int,
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
            // Each value: 4-byte little-endian length, then the bytes. Lengths are checked before copying.
            var offsets = [Int](repeating: 0, count: count + 1)
            var position = 0
            var total = 0
            for i in 0..<count {
                guard bytes.count - position >= 4 else { throw shortData(count, "BYTE_ARRAY", bytes.count) }
                let length = Int(bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian)
                position += 4
                guard length <= bytes.count - position else {
                    throw ParquetDecodeError("BYTE_ARRAY value \(i) claims \(length) bytes; \(bytes.count - position) are left in the page")
                }
                position += length
                total += length
                offsets[i + 1] = total
            }
            var storage = [UInt8](repeating: 0, count: total)
            storage.withUnsafeMutableBytes { out in
                var read = 0
                for i in 0..<count {
                    let length = offsets[i + 1] - offsets[i]
                    read += 4
                    if length > 0, let dst = out.baseAddress, let src = bytes.baseAddress {
                        (dst + offsets[i]).copyMemory(from: src + read, byteCount: length)
                    }
                    read += length
                }
            }
            return .bytes(storage: storage, offsets: offsets)
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
        return .bytes(storage: storage, offsets: (0...count).map { $0 * width })
    }
}
