/// A reader for the Thrift compact protocol, the encoding of Parquet's footer and page headers.
/// Works on a borrowed byte buffer; every read is bounds-checked and throws `ParquetDecodeError`.
struct ThriftCompactReader {
    /// Compact-protocol type codes (the low nibble of a field header).
    enum FieldType: UInt8 {
        case stop = 0, boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6
        case double = 7, binary = 8, list = 9, set = 10, map = 11, structure = 12
    }

    /// Hostile files can nest structs without end; real Parquet metadata nests about 5 deep.
    static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int = 0
    /// Field ids are delta-encoded against the previous field of the same struct.
    private var lastFieldIDs: [Int16] = []
    private var lastFieldID: Int16 = 0
    /// A boolean field carries its value in the field header.
    private var pendingBool: Bool?

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    // MARK: Primitives

    mutating func readByte() throws -> UInt8 {
        guard position < bytes.count else { throw ParquetDecodeError("Thrift data ends early at byte \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64 else { throw ParquetDecodeError("Thrift varint longer than 10 bytes at byte \(position)") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func readZigZag() throws -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    mutating func readI32() throws -> Int32 {
        let value = try readZigZag()
        guard let narrow = Int32(exactly: value) else { throw ParquetDecodeError("Thrift i32 out of range: \(value)") }
        return narrow
    }

    mutating func readI64() throws -> Int64 { try readZigZag() }

    mutating func readDouble() throws -> Double {
        guard bytes.count - position >= 8 else { throw ParquetDecodeError("Thrift double ends early at byte \(position)") }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return Double(bitPattern: bits)
    }

    /// Length-prefixed bytes; the length is checked against what is left before anything is copied.
    mutating func readBinary() throws -> [UInt8] {
        let length = try readVarint()
        guard length <= UInt64(bytes.count - position) else {
            throw ParquetDecodeError("Thrift binary of \(length) bytes at byte \(position) exceeds the \(bytes.count - position) bytes left")
        }
        let start = position
        position += Int(length)
        return Array(bytes[start..<position])
    }

    mutating func readString() throws -> String {
        String(decoding: try readBinary(), as: UTF8.self)
    }

    // MARK: Structs

    mutating func beginStruct() throws {
        guard lastFieldIDs.count < Self.maxDepth else { throw ParquetDecodeError("Thrift structs nested deeper than \(Self.maxDepth)") }
        lastFieldIDs.append(lastFieldID)
        lastFieldID = 0
    }

    mutating func endStruct() {
        lastFieldID = lastFieldIDs.popLast() ?? 0
    }

    /// The next field's id and type, or nil at the struct's STOP byte.
    mutating func readFieldHeader() throws -> (id: Int16, type: FieldType)? {
        let header = try readByte()
        guard let type = FieldType(rawValue: header & 0x0F) else {
            throw ParquetDecodeError("unknown Thrift field type \(header & 0x0F) at byte \(position - 1)")
        }
        if type == .stop { return nil }
        let delta = header >> 4
        let id: Int16
        if delta == 0 {
            let raw = try readZigZag()
            guard let narrow = Int16(exactly: raw) else { throw ParquetDecodeError("Thrift field id out of range: \(raw)") }
            id = narrow
        } else {
            id = lastFieldID &+ Int16(delta)
        }
        lastFieldID = id
        switch type {
        case .boolTrue: pendingBool = true
        case .boolFalse: pendingBool = false
        default: pendingBool = nil
        }
        return (id, type)
    }

    /// The value of a boolean field whose header was just read.
    mutating func readBoolField() throws -> Bool {
        guard let value = pendingBool else { throw ParquetDecodeError("Thrift boolean expected at byte \(position)") }
        pendingBool = nil
        return value
    }

    /// Reads a list header: element count and element type. The count is checked against the bytes
    /// left (each element takes at least one byte) so a hostile count cannot drive an allocation.
    mutating func readListHeader() throws -> (count: Int, type: FieldType) {
        let header = try readByte()
        var count = Int(header >> 4)
        if count == 15 {
            let raw = try readVarint()
            guard raw <= UInt64(bytes.count - position) else {
                throw ParquetDecodeError("Thrift list claims \(raw) elements with only \(bytes.count - position) bytes left")
            }
            count = Int(raw)
        }
        guard let type = FieldType(rawValue: header & 0x0F), type != .stop else {
            throw ParquetDecodeError("unknown Thrift list element type \(header & 0x0F) at byte \(position - 1)")
        }
        // Every element, even an empty struct or a list boolean, takes at least one byte.
        guard count <= bytes.count - position else {
            throw ParquetDecodeError("Thrift list claims \(count) elements with only \(bytes.count - position) bytes left")
        }
        return (count, type)
    }

    /// Reads a Thrift list of elements with `element`, the header's type checked against `expected`.
    mutating func readList<T>(of expected: FieldType, _ element: (inout ThriftCompactReader) throws -> T) throws -> [T] {
        let (count, type) = try readListHeader()
        guard type == expected || (expected == .boolTrue && type == .boolFalse) else {
            throw ParquetDecodeError("Thrift list of type \(type) where \(expected) was expected")
        }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try element(&self)) }
        return result
    }

    /// Reads one struct by calling `field` for each field; fields it does not consume are skipped.
    mutating func readStruct(_ field: (inout ThriftCompactReader, Int16, FieldType) throws -> Bool) throws {
        try beginStruct()
        while let (id, type) = try readFieldHeader() {
            if try !field(&self, id, type) { try skip(type) }
        }
        endStruct()
    }

    // MARK: Skipping unknown fields

    mutating func skip(_ type: FieldType, depth: Int = 0) throws {
        guard depth < Self.maxDepth else { throw ParquetDecodeError("Thrift values nested deeper than \(Self.maxDepth)") }
        switch type {
        case .stop: throw ParquetDecodeError("unexpected Thrift STOP at byte \(position)")
        case .boolTrue, .boolFalse: pendingBool = nil
        case .byte: _ = try readByte()
        case .i16, .i32, .i64: _ = try readVarint()
        case .double:
            guard bytes.count - position >= 8 else { throw ParquetDecodeError("Thrift double ends early at byte \(position)") }
            position += 8
        case .binary:
            let length = try readVarint()
            guard length <= UInt64(bytes.count - position) else {
                throw ParquetDecodeError("Thrift binary of \(length) bytes at byte \(position) exceeds the \(bytes.count - position) bytes left")
            }
            position += Int(length)
        case .list, .set:
            let (count, elementType) = try readListHeader()
            for _ in 0..<count { try skipElement(elementType, depth: depth + 1) }
        case .map:
            let size = try readVarint()
            guard size <= UInt64(bytes.count - position) else {
                throw ParquetDecodeError("Thrift map claims \(size) entries with only \(bytes.count - position) bytes left")
            }
            if size == 0 { return }
            let types = try readByte()
            guard let keyType = FieldType(rawValue: types >> 4), let valueType = FieldType(rawValue: types & 0x0F),
                  keyType != .stop, valueType != .stop else {
                throw ParquetDecodeError("unknown Thrift map key/value types \(types) at byte \(position - 1)")
            }
            for _ in 0..<Int(size) {
                try skipElement(keyType, depth: depth + 1)
                try skipElement(valueType, depth: depth + 1)
            }
        case .structure:
            try beginStruct()
            while let (_, fieldType) = try readFieldHeader() { try skip(fieldType, depth: depth + 1) }
            endStruct()
        }
    }

    /// Inside lists and maps a boolean takes a whole byte, unlike a boolean field.
    private mutating func skipElement(_ type: FieldType, depth: Int) throws {
        if type == .boolTrue || type == .boolFalse { _ = try readByte() } else { try skip(type, depth: depth) }
    }
}
