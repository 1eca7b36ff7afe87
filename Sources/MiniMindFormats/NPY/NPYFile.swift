import Foundation

/// NumPy `.npy` arrays (format versions 1–3): C-order only; little- and big-endian float16/32/64,
/// int8/16/32/64, uint8 and bool. Big-endian data is byte-swapped on read. Writes version 1.0 with
/// the header padded so the data starts on a 64-byte boundary, like `numpy.save`.
public enum NPYFile {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public static func read(_ url: URL) throws -> TensorData {
        try read(store: ByteStore.map(url), path: url.path)
    }

    public static func read(data: Data, path: String = "<memory>") throws -> TensorData {
        try read(store: .copying(data), path: path)
    }

    static func read(store: ByteStore, path: String) throws -> TensorData {
        let r = ByteReader(bytes: store.buffer, path: path, format: ".npy")
        guard store.count >= 10, Array(try r.slice(0, 6, "magic")) == magic else { throw r.fail("missing the \\x93NUMPY magic") }
        let major = try r.u8(6)
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(try r.u16(8)); headerStart = 10
        case 2, 3: headerLength = Int(try r.u32(8)); headerStart = 12
        default: throw CheckpointError.unsupported(path: path, format: ".npy", reason: "format version \(major)")
        }
        let text = String(decoding: try r.slice(headerStart, headerLength, "header"), as: UTF8.self)
        let header = try NPYHeader(parsing: text, path: path)
        guard !header.fortranOrder else {
            throw CheckpointError.unsupported(path: path, format: ".npy", reason: "fortran_order arrays; save with numpy.ascontiguousarray(a)")
        }
        let dataStart = headerStart + headerLength
        guard let n = checkedElementCount(header.shape), let bytes = checkedMul(n, header.dtype.byteSize),
              bytes == store.count - dataStart else {
            throw r.fail("shape \(header.shape) of \(header.descr) needs \((checkedElementCount(header.shape)).flatMap { checkedMul($0, header.dtype.byteSize) }.map(String.init) ?? "too many") bytes, file has \(store.count - dataStart) after the header")
        }
        if !header.bigEndian || header.dtype.byteSize == 1 {
            return try TensorData(dtype: header.dtype, shape: header.shape, store: store, byteOffset: dataStart)
        }
        let size = header.dtype.byteSize
        let swapped = ByteStore.build(count: bytes) { dst in
            let src = store.base + dataStart
            for i in 0..<n {
                for b in 0..<size { dst.storeBytes(of: src.load(fromByteOffset: i * size + b, as: UInt8.self), toByteOffset: i * size + size - 1 - b, as: UInt8.self) }
            }
        }
        return try TensorData(dtype: header.dtype, shape: header.shape, store: swapped)
    }

    /// Writes `t` as a C-order little-endian array (bf16 has no NumPy dtype and is refused).
    public static func write(_ t: TensorData, to url: URL) throws {
        guard let descr = NPYHeader.descr(for: t.dtype) else {
            throw CheckpointError.typeMismatch(what: "\(url.path): .npy", expected: "a dtype NumPy has", found: t.dtype.rawValue)
        }
        let shape: String
        switch t.shape.count {
        case 0: shape = "()"
        case 1: shape = "(\(t.shape[0]),)"
        default: shape = "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        let out = try AtomicFileWriter(url)
        try out.write(magic + [1, 0] + le(UInt16(header.utf8.count)) + Array(header.utf8))
        try t.withUnsafeBytes { try out.write($0) }
        try out.commit()
    }

    public static func write(_ tensor: Tensor, to url: URL) throws {
        try write(TensorData(tensor: tensor), to: url)
    }
}

/// The Python-literal header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
struct NPYHeader {
    let descr: String
    let dtype: DType
    let bigEndian: Bool
    let fortranOrder: Bool
    let shape: [Int]

    static func descr(for dtype: DType) -> String? {
        switch dtype {
        case .f32: return "<f4"
        case .f16: return "<f2"
        case .f64: return "<f8"
        case .i64: return "<i8"
        case .i32: return "<i4"
        case .i16: return "<i2"
        case .i8: return "|i1"
        case .u8: return "|u1"
        case .bool: return "|b1"
        case .bf16: return nil
        }
    }

    init(parsing text: String, path: String) throws {
        func fail(_ reason: String) -> CheckpointError { .malformed(path: path, format: ".npy", reason: "header \(text.prefix(200)): \(reason)") }
        func value(after key: String) throws -> Substring {
            guard let k = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\""),
                  let colon = text[k.upperBound...].firstIndex(of: ":") else { throw fail("no '\(key)' entry") }
            return text[text.index(after: colon)...].drop { $0 == " " }
        }
        let d = try value(after: "descr")
        guard let quote = d.first, quote == "'" || quote == "\"", let end = d.dropFirst().firstIndex(of: quote) else { throw fail("descr is not a string") }
        descr = String(d[d.index(after: d.startIndex)..<end])
        let order = descr.first
        let kind = String(descr.dropFirst())
        bigEndian = order == ">"
        guard order == "<" || order == ">" || order == "|" || order == "=" else { throw fail("descr '\(descr)' has no byte-order character") }
        let table: [String: DType] = ["f4": .f32, "f2": .f16, "f8": .f64, "i8": .i64, "i4": .i32, "i2": .i16,
                                      "i1": .i8, "u1": .u8, "b1": .bool]
        guard let t = table[kind] else {
            throw CheckpointError.unsupported(path: path, format: ".npy", reason: "dtype '\(descr)'; supported: \(table.keys.sorted().joined(separator: ", "))")
        }
        dtype = t
        let f = try value(after: "fortran_order")
        if f.hasPrefix("True") { fortranOrder = true } else if f.hasPrefix("False") { fortranOrder = false } else { throw fail("fortran_order is not True/False") }
        let s = try value(after: "shape")
        guard s.first == "(", let close = s.firstIndex(of: ")") else { throw fail("shape is not a tuple") }
        var dims: [Int] = []
        for part in s[s.index(after: s.startIndex)..<close].split(separator: ",") {
            let p = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
            if p.isEmpty { continue }
            guard let n = Int(p), n >= 0 else { throw fail("shape entry '\(p)' is not a non-negative integer") }
            dims.append(n)
        }
        shape = dims
    }
}
