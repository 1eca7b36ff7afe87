import Foundation

extension Safetensors {
    /// Writes `state` (and its metadata) as one safetensors file, atomically. Tensors are laid out
    /// like the reference writer: larger element types first (keeps every tensor aligned to its
    /// element size), then by name; the header is padded with spaces to a multiple of 8 bytes.
    public static func write(_ state: StateDict, to url: URL, metadata extra: [String: String] = [:]) throws {
        let ordered = state.entries.sorted {
            ($0.tensor.dtype.byteSize, $1.name) > ($1.tensor.dtype.byteSize, $0.name)
        }
        let header = makeHeader(ordered.map { ($0.name, $0.tensor) }, metadata: state.metadata.merging(extra) { $1 })
        let out = try AtomicFileWriter(url)
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try out.write($0) }
        try out.write(header)
        for (_, t) in ordered { try t.withUnsafeBytes { try out.write($0) } }
        try out.commit()
    }

    /// Header JSON bytes for tensors in this order, padded with spaces to a multiple of 8.
    static func makeHeader(_ tensors: [(String, TensorData)], metadata: [String: String]) -> Data {
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.sorted { $0.key < $1.key }.map { "\(jsonQuoted($0.key)):\(jsonQuoted($0.value))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for (name, t) in tensors {
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonQuoted(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.byteCount)]}")
            offset += t.byteCount
        }
        var text = Data(("{" + parts.joined(separator: ",") + "}").utf8)
        let padding = (8 - text.count % 8) % 8
        text.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: padding))
        return text
    }
}
