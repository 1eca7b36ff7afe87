import CSnappy
import CZstd

/// Decompresses page bodies. The output size is the one the page header announces, which the
/// caller has already checked against the reader's limits; a block that expands to any other
/// size is corrupt.
enum ParquetDecompressor {
    static func decompress(_ input: UnsafeRawBufferPointer, codec: Int32, uncompressedSize: Int) throws -> [UInt8] {
        // Some writers store an empty value section (all-null v2 pages) without a compressed frame.
        let supported: [ParquetCodec] = [.uncompressed, .snappy, .zstd]
        if input.isEmpty && uncompressedSize == 0, let known = ParquetCodec(rawValue: codec), supported.contains(known) { return [] }
        switch ParquetCodec(rawValue: codec) {
        case .uncompressed:
            guard input.count == uncompressedSize else {
                throw ParquetDecodeError("uncompressed page holds \(input.count) bytes; its header says \(uncompressedSize)")
            }
            return Array(input)
        case .snappy: return try snappy(input, uncompressedSize)
        case .zstd: return try zstd(input, uncompressedSize)
        default:
            throw ParquetDecodeError(unsupported: "the \(ParquetCodec.name(codec)) codec (supported: UNCOMPRESSED, SNAPPY, ZSTD)")
        }
    }

    private static func snappy(_ input: UnsafeRawBufferPointer, _ expected: Int) throws -> [UInt8] {
        guard let src = input.baseAddress?.assumingMemoryBound(to: CChar.self) else {
            guard expected == 0 else { throw ParquetDecodeError("empty Snappy block; the page header says \(expected) bytes") }
            return []
        }
        var claimed = 0
        guard snappy_uncompressed_length(src, input.count, &claimed) == SNAPPY_OK else {
            throw ParquetDecodeError("Snappy block header is invalid")
        }
        guard claimed == expected else {
            throw ParquetDecodeError("Snappy block expands to \(claimed) bytes; the page header says \(expected)")
        }
        var produced = expected
        var status = SNAPPY_INVALID_INPUT
        // Uninitialised capacity: the array is kept only when Snappy filled all of it.
        let output = [UInt8](unsafeUninitializedCapacity: expected) { out, initialized in
            if let dst = out.baseAddress {
                dst.withMemoryRebound(to: CChar.self, capacity: expected) { status = snappy_uncompress(src, input.count, $0, &produced) }
            } else if expected == 0 {
                status = SNAPPY_OK
            }
            initialized = status == SNAPPY_OK && produced == expected ? expected : 0
        }
        guard status == SNAPPY_OK, produced == expected else {
            throw ParquetDecodeError("Snappy block does not decompress (status \(status.rawValue))")
        }
        return output
    }

    private static func zstd(_ input: UnsafeRawBufferPointer, _ expected: Int) throws -> [UInt8] {
        guard let src = input.baseAddress, input.count > 0 else {
            throw ParquetDecodeError("empty Zstd block; the page header says \(expected) bytes")
        }
        // The first frame's own content size, when recorded, cannot exceed the page header's.
        let frameSize = ZSTD_getFrameContentSize(src, input.count)
        let contentSizeUnknown = UInt64.max, contentSizeError = UInt64.max - 1  // ZSTD_CONTENTSIZE_*
        if frameSize == contentSizeError {
            throw ParquetDecodeError("Zstd frame header is invalid")
        }
        if frameSize != contentSizeUnknown && frameSize > UInt64(expected) {
            throw ParquetDecodeError("Zstd frame expands to \(frameSize) bytes; the page header says \(expected)")
        }
        // Decompressing into a buffer of exactly the announced size bounds the output.
        var result = 0
        // Uninitialised capacity: the array is kept only when Zstd filled all of it.
        let output = [UInt8](unsafeUninitializedCapacity: expected) { out, initialized in
            var scratch: UInt8 = 0
            result = withUnsafeMutablePointer(to: &scratch) { fallback in
                let dst = out.baseAddress.map { UnsafeMutableRawPointer($0) } ?? UnsafeMutableRawPointer(fallback)
                return ZSTD_decompress(dst, expected, src, input.count)
            }
            initialized = ZSTD_isError(result) == 0 && result == expected ? expected : 0
        }
        if ZSTD_isError(result) != 0 {
            let name = ZSTD_getErrorName(result).map { String(cString: $0) } ?? "unknown error"
            throw ParquetDecodeError("Zstd block does not decompress: \(name)")
        }
        guard result == expected else {
            throw ParquetDecodeError("Zstd block expands to \(result) bytes; the page header says \(expected)")
        }
        return output
    }
}
