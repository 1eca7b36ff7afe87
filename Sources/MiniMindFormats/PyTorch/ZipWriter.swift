/// Writes STORED zip entries the way torch.save lays them out: each entry's data starts on a
/// 64-byte boundary (padding goes in an extra field with id "FB"), with ZIP64 records only when a
/// size, offset or entry count needs them.
final class ZipWriter {
    private let out: AtomicFileWriter
    private var central: [UInt8] = []
    private var count = 0
    static let alignment = 64

    init(_ out: AtomicFileWriter) { self.out = out }

    func add(_ name: String, _ data: UnsafeRawBufferPointer) throws {
        let nameBytes = Array(name.utf8)
        let size = data.count
        let crc = CRC32.checksum(data)
        let offset = out.position
        let big = size >= 0xFFFF_FFFF
        let bigOffset = offset >= 0xFFFF_FFFF

        var zip64Local: [UInt8] = []
        if big { zip64Local = le(UInt16(1)) + le(UInt16(16)) + le(UInt64(size)) + le(UInt64(size)) }
        var header = le(UInt32(0x0403_4B50)) + le(UInt16(big ? 45 : 20)) + le(UInt16(0)) + le(UInt16(0))
            + le(UInt16(0)) + le(UInt16(0x21)) + le(crc)
            + le(UInt32(big ? 0xFFFF_FFFF : UInt32(size))) + le(UInt32(big ? 0xFFFF_FFFF : UInt32(size)))
        let unpadded = offset + 30 + nameBytes.count + zip64Local.count
        var pad = (ZipWriter.alignment - (unpadded + 4) % ZipWriter.alignment) % ZipWriter.alignment
        if unpadded % ZipWriter.alignment == 0 { pad = -4 }  // already aligned: no padding field
        let padField: [UInt8] = pad < 0 ? [] : le(UInt16(0x4246)) + le(UInt16(pad)) + [UInt8](repeating: UInt8(ascii: "Z"), count: pad)
        let extra = zip64Local + padField
        header += le(UInt16(nameBytes.count)) + le(UInt16(extra.count)) + nameBytes + extra
        try out.write(header)
        try out.write(data)

        var zip64Central: [UInt8] = []
        if big || bigOffset {
            var fields: [UInt8] = []
            if big { fields += le(UInt64(size)) + le(UInt64(size)) }
            if bigOffset { fields += le(UInt64(offset)) }
            zip64Central = le(UInt16(1)) + le(UInt16(fields.count)) + fields
        }
        central += le(UInt32(0x0201_4B50)) + le(UInt16(zip64Central.isEmpty ? 20 : 45)) + le(UInt16(zip64Central.isEmpty ? 20 : 45))
        central += le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0x21)) + le(crc)
        central += le(UInt32(big ? 0xFFFF_FFFF : UInt32(size))) + le(UInt32(big ? 0xFFFF_FFFF : UInt32(size)))
        central += le(UInt16(nameBytes.count)) + le(UInt16(zip64Central.count)) + le(UInt16(0)) + le(UInt16(0))
        central += le(UInt16(0)) + le(UInt32(0)) + le(UInt32(bigOffset ? 0xFFFF_FFFF : UInt32(offset)))
        central += nameBytes + zip64Central
        count += 1
    }

    func add(_ name: String, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try add(name, $0) }
    }

    /// Writes the central directory and end records.
    func finish() throws {
        let cdOffset = out.position
        try out.write(central)
        let cdSize = central.count
        let needs64 = count >= 0xFFFF || cdOffset >= 0xFFFF_FFFF || cdSize >= 0xFFFF_FFFF
        if needs64 {
            let recordOffset = out.position
            try out.write(le(UInt32(0x0606_4B50)) + le(UInt64(44)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt32(0)) + le(UInt32(0))
                          + le(UInt64(count)) + le(UInt64(count)) + le(UInt64(cdSize)) + le(UInt64(cdOffset)))
            try out.write(le(UInt32(0x0706_4B50)) + le(UInt32(0)) + le(UInt64(recordOffset)) + le(UInt32(1)))
        }
        let n16 = UInt16(needs64 ? 0xFFFF : count)
        try out.write(le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(n16) + le(n16)
                      + le(UInt32(needs64 ? 0xFFFF_FFFF : UInt32(cdSize))) + le(UInt32(needs64 ? 0xFFFF_FFFF : UInt32(cdOffset))) + le(UInt16(0)))
    }
}

/// Little-endian bytes of a fixed-width integer.
func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}
