/// Decoder for Parquet's RLE / bit-packed hybrid encoding, used for repetition and definition levels,
/// dictionary indices and RLE booleans. Reads exactly `count` values or throws.
enum ParquetRLEDecoder {
    /// Decodes `count` values of `bitWidth` bits (0...32) from `bytes`.
    /// Values are checked against `maxValue` so later lookups cannot go out of bounds.
    static func decode(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, count: Int, maxValue: UInt32,
                       into output: inout [UInt32]) throws {
        guard (0...32).contains(bitWidth) else { throw ParquetDecodeError("RLE bit width \(bitWidth) is outside 0...32") }
        output.removeAll(keepingCapacity: true)
        output.reserveCapacity(count)
        if count == 0 { return }
        let byteWidth = (bitWidth + 7) / 8
        let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (UInt64(1) << UInt64(bitWidth)) - 1
        var position = 0
        let end = bytes.count
        while output.count < count {
            // Run header: a ULEB128 varint; low bit 0 = RLE run, 1 = bit-packed groups of 8.
            var header: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < end else {
                    throw ParquetDecodeError("RLE data ends after \(output.count) of \(count) values")
                }
                let byte = bytes[position]
                position += 1
                guard shift < 64 else { throw ParquetDecodeError("RLE run header varint is too long") }
                header |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            let needed = count - output.count
            if header & 1 == 0 {
                let runLength = header >> 1
                guard end - position >= byteWidth else { throw ParquetDecodeError("RLE run value ends early") }
                var value: UInt32 = 0
                for i in 0..<byteWidth { value |= UInt32(bytes[position + i]) << UInt32(8 * i) }
                position += byteWidth
                guard value <= maxValue else {
                    throw ParquetDecodeError("RLE value \(value) exceeds the maximum \(maxValue)")
                }
                let take = Int(min(runLength, UInt64(needed)))
                output.append(contentsOf: repeatElement(value, count: take))
            } else {
                let groups = header >> 1
                // Values the groups hold, limited to those still needed (needed is small, so no overflow).
                let valueCount = groups >= UInt64(needed) ? needed : min(Int(groups) * 8, needed)
                let neededBytes = (valueCount * bitWidth + 7) / 8
                guard end - position >= neededBytes else {
                    throw ParquetDecodeError("RLE bit-packed run needs \(neededBytes) bytes; \(end - position) are left")
                }
                if bitWidth == 0 {
                    output.append(contentsOf: repeatElement(0, count: valueCount))
                } else {
                    var bitOffset = 0
                    for _ in 0..<valueCount {
                        let byteIndex = position + bitOffset >> 3
                        let shiftIn = bitOffset & 7
                        // Gather up to 5 bytes (32 bits + 7 bits of offset), staying within the buffer.
                        var word: UInt64 = 0
                        let last = min(end, byteIndex + 5)
                        var k = byteIndex
                        while k < last { word |= UInt64(bytes[k]) << UInt64(8 * (k - byteIndex)); k += 1 }
                        let value = UInt32((word >> UInt64(shiftIn)) & mask)
                        guard value <= maxValue else {
                            throw ParquetDecodeError("bit-packed value \(value) exceeds the maximum \(maxValue)")
                        }
                        output.append(value)
                        bitOffset += bitWidth
                    }
                }
                // Skip the whole run (padding included), or to the end when it claims more than is left.
                let left = UInt64(end - position)
                let runBytes = groups > left ? left : min(groups * UInt64(bitWidth), left)
                position += Int(runBytes)
            }
        }
    }

    /// Bits needed to store values 0...maxLevel.
    static func bitWidth(forMax maxLevel: Int) -> Int {
        var width = 0
        while (1 << width) <= maxLevel { width += 1 }
        return width
    }
}
