import Foundation

/// One tensor to write: `shape` in row-major (PyTorch) order, the bytes already in `type`'s layout.
public struct GGUFTensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var type: GGMLType
    public var bytes: [UInt8]

    public init(name: String, shape: [Int], type: GGMLType, bytes: [UInt8]) {
        self.name = name
        self.shape = shape
        self.type = type
        self.bytes = bytes
    }
}

/// Writes GGUF version 3 files: header, metadata, tensor infos, then the data, each tensor at a
/// multiple of `general.alignment` (32 unless the metadata says otherwise). Dimensions are stored
/// innermost first (ggml's ne[0] = the row length), as llama.cpp's writer does. Atomic.
public enum GGUFWriter {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian u32
    public static let version: UInt32 = 3
    public static let defaultAlignment = 32

    public static func write(metadata: [(String, GGUFValue)], tensors: [GGUFTensor], to url: URL) throws {
        let alignment = metadata.first { $0.0 == "general.alignment" }?.1.intValue ?? defaultAlignment
        var head = [UInt8]()
        append(magic, to: &head)
        append(version, to: &head)
        append(UInt64(tensors.count), to: &head)
        append(UInt64(metadata.count), to: &head)
        for (key, value) in metadata {
            appendString(key, to: &head)
            append(value.type.rawValue, to: &head)
            appendValue(value, to: &head)
        }
        var offset = 0
        for t in tensors {
            guard let expected = t.type.byteCount(elements: t.shape.reduce(1, *)), expected == t.bytes.count else {
                throw CheckpointError.malformed(path: url.path, format: "gguf",
                                                reason: "tensor \(t.name) has \(t.bytes.count) bytes for shape \(t.shape) of \(t.type.name)")
            }
            appendString(t.name, to: &head)
            append(UInt32(t.shape.count), to: &head)
            for d in t.shape.reversed() { append(UInt64(d), to: &head) }
            append(t.type.rawValue, to: &head)
            append(UInt64(offset), to: &head)
            offset += padded(t.bytes.count, alignment)
        }
        let file = try AtomicFileWriter(url)
        try file.write(head)
        try file.writeZeros(padded(head.count, alignment) - head.count)
        for t in tensors {
            try file.write(t.bytes)
            try file.writeZeros(padded(t.bytes.count, alignment) - t.bytes.count)
        }
        try file.commit()
    }

    static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        let bytes = Array(s.utf8)
        append(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    static func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let s): appendString(s, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .array(let type, let items):
            append(type.rawValue, to: &out)
            append(UInt64(items.count), to: &out)
            for item in items {
                precondition(item.type == type, "GGUF arrays are homogeneous: \(item.type) in an array of \(type)")
                appendValue(item, to: &out)
            }
        }
    }
}
