import Foundation

/// A tensor's entry in a GGUF file: `shape` in row-major (PyTorch) order, `offset` from the
/// start of the data section.
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let type: GGMLType
    public let offset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A GGUF file (versions 2 and 3), memory-mapped. Every count, length and offset is checked
/// against the file before use; unknown value or tensor types are errors naming them.
public struct GGUFFile: @unchecked Sendable {
    public let version: UInt32
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let dataOffset: Int
    let store: ByteStore
    let path: String

    static let maxDims = 4
    static let maxArrayDepth = 8

    public subscript(key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensors.first { $0.name == name } }

    public static func read(_ url: URL) throws -> GGUFFile { try read(store: ByteStore.map(url), path: url.path) }

    public static func read(data: Data, path: String = "<memory>") throws -> GGUFFile { try read(store: .copying(data), path: path) }

    static func read(store: ByteStore, path: String) throws -> GGUFFile {
        var c = Cursor(r: ByteReader(bytes: UnsafeRawBufferPointer(start: store.base, count: store.count), path: path, format: "gguf"))
        guard try c.u32() == GGUFWriter.magic else { throw c.r.fail("not a GGUF file (magic is not \"GGUF\")") }
        let version = try c.u32()
        guard version == 2 || version == 3 else { throw c.r.fail("GGUF version \(version) is not supported (2 and 3 are)") }
        let tensorCount = try c.count(minBytesEach: 24, "tensor count")
        let kvCount = try c.count(minBytesEach: 13, "metadata count")
        var metadata: [(key: String, value: GGUFValue)] = []
        for _ in 0..<kvCount {
            let key = try c.string()
            let rawType = try c.u32()
            guard let type = GGUFValueType(rawValue: rawType) else { throw c.r.fail("metadata \(key): unknown value type \(rawType)") }
            metadata.append((key, try c.value(type, depth: 0)))
        }
        var alignment = GGUFWriter.defaultAlignment
        if let a = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard let n = a.intValue, n > 0, n <= 1 << 20, n & (n - 1) == 0 else {
                throw c.r.fail("general.alignment \(a) is not a power of two up to 2^20")
            }
            alignment = n
        }
        var infos: [(String, [Int], GGMLType, Int)] = []
        for _ in 0..<tensorCount {
            let name = try c.string()
            let dims = Int(try c.u32())
            guard dims >= 1, dims <= maxDims else { throw c.r.fail("tensor \(name): \(dims) dimensions (1…\(maxDims) allowed)") }
            var ne: [Int] = []
            for _ in 0..<dims {
                let d = try c.u64()
                guard d <= UInt64(Int32.max) else { throw c.r.fail("tensor \(name): dimension \(d) too large") }
                ne.append(Int(d))
            }
            let rawType = try c.u32()
            guard let type = GGMLType(rawValue: rawType) else {
                throw c.r.fail("tensor \(name): ggml type \(rawType) is not supported (F32, F16, BF16, Q8_0, Q4_0 are)")
            }
            let offset = try c.u64()
            guard offset <= UInt64(store.count), Int(offset) % alignment == 0 else {
                throw c.r.fail("tensor \(name): data offset \(offset) outside the file or not a multiple of \(alignment)")
            }
            infos.append((name, Array(ne.reversed()), type, Int(offset)))
        }
        let dataOffset = GGUFWriter.padded(c.position, alignment)
        var tensors: [GGUFTensorInfo] = []
        var names = Set<String>()
        for (name, shape, type, offset) in infos {
            guard names.insert(name).inserted else { throw c.r.fail("tensor \(name) appears twice") }
            guard let count = checkedElementCount(shape), let bytes = type.byteCount(elements: count) else {
                throw c.r.fail("tensor \(name): shape \(shape) does not fill whole \(type.name) blocks")
            }
            try c.r.check(dataOffset, 0, "data section")
            try c.r.check(dataOffset + offset, bytes, "tensor \(name) data")
            tensors.append(GGUFTensorInfo(name: name, shape: shape, type: type, offset: offset, byteCount: bytes))
        }
        return GGUFFile(version: version, metadata: metadata, tensors: tensors, alignment: alignment,
                        dataOffset: dataOffset, store: store, path: path)
    }

    /// The raw bytes of a tensor (its blocks as stored).
    public func bytes(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: store.base + dataOffset + info.offset, count: info.byteCount)
    }

    /// A tensor's values as float32 (dequantised for q8_0/q4_0), shape in row-major order.
    public func floats(of info: GGUFTensorInfo) -> [Float] {
        let raw = bytes(of: info)
        var out = [Float](repeating: 0, count: info.elementCount)
        out.withUnsafeMutableBufferPointer { dst in
            guard let p = dst.baseAddress else { return }
            switch info.type {
            case .f32: for i in 0..<dst.count { p[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
            case .f16: for i in 0..<dst.count { p[i] = HalfPrecision.halfBitsToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            case .bf16: for i in 0..<dst.count { p[i] = BFloat16Bits.float(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            case .q8_0: GGMLQuants.dequantizeQ8_0(raw, count: dst.count, into: p)
            case .q4_0: GGMLQuants.dequantizeQ4_0(raw, count: dst.count, into: p)
            }
        }
        return out
    }

    /// A sequential reader over the header with bounds-checked fields.
    struct Cursor {
        let r: ByteReader
        var position = 0

        mutating func u32() throws -> UInt32 { defer { position += 4 }; return try r.u32(position) }
        mutating func u64() throws -> UInt64 { defer { position += 8 }; return try r.u64(position) }

        /// A count whose items need at least `minBytesEach` bytes each: refused when the file is too short.
        mutating func count(minBytesEach: Int, _ what: String) throws -> Int {
            let n = try u64()
            guard n <= UInt64(r.bytes.count / max(minBytesEach, 1)) else {
                throw r.fail("\(what) \(n) cannot fit in the \(r.bytes.count)-byte file")
            }
            return Int(n)
        }

        mutating func string() throws -> String {
            let n = try count(minBytesEach: 1, "string length")
            let bytes = try r.slice(position, n, "string")
            position += n
            guard let s = String(validating: bytes, as: UTF8.self) else { throw r.fail("string at byte \(position - n) is not UTF-8") }
            return s
        }

        mutating func value(_ type: GGUFValueType, depth: Int) throws -> GGUFValue {
            switch type {
            case .uint8: let v = try r.u8(position); position += 1; return .uint8(v)
            case .int8: let v = try r.u8(position); position += 1; return .int8(Int8(bitPattern: v))
            case .bool:
                let v = try r.u8(position); position += 1
                guard v <= 1 else { throw r.fail("bool at byte \(position - 1) is \(v)") }
                return .bool(v == 1)
            case .uint16: let v = try r.u16(position); position += 2; return .uint16(v)
            case .int16: let v = try r.u16(position); position += 2; return .int16(Int16(bitPattern: v))
            case .uint32: return .uint32(try u32())
            case .int32: return .int32(Int32(bitPattern: try u32()))
            case .float32: return .float32(Float(bitPattern: try u32()))
            case .uint64: return .uint64(try u64())
            case .int64: return .int64(Int64(bitPattern: try u64()))
            case .float64: return .float64(Double(bitPattern: try u64()))
            case .string: return .string(try string())
            case .array:
                guard depth < GGUFFile.maxArrayDepth else { throw r.fail("arrays nested deeper than \(GGUFFile.maxArrayDepth)") }
                let rawType = try u32()
                guard let element = GGUFValueType(rawValue: rawType) else { throw r.fail("array of unknown value type \(rawType)") }
                let n = try count(minBytesEach: element.fixedSize ?? 8, "array length")
                var items: [GGUFValue] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(try value(element, depth: depth + 1)) }
                return .array(elementType: element, items)
            }
        }
    }
}
