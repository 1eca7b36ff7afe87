import Foundation

/// safetensors files: `u64 header length | JSON header | data`. Reading maps the file and slices
/// tensors out of the mapping without copying. Validation follows the reference implementation:
/// header ≤ 100 MB, known dtypes, sizes that match shapes, and data offsets that tile the data
/// section exactly (no gaps, no overlaps, nothing past the end).
public enum Safetensors {
    static let maxHeaderBytes = 100_000_000

    /// Reads every tensor of a `.safetensors` file (memory-mapped).
    public static func read(_ url: URL) throws -> StateDict {
        try read(store: ByteStore.map(url), path: url.path)
    }

    /// Reads from bytes already in memory (e.g. downloaded or embedded).
    public static func read(data: Data, path: String = "<memory>") throws -> StateDict {
        try read(store: .copying(data), path: path)
    }

    public static func read(store: ByteStore, path: String) throws -> StateDict {
        let r = ByteReader(bytes: store.buffer, path: path, format: "safetensors")
        guard store.count >= 8 else { throw r.fail("file is \(store.count) bytes, shorter than the 8-byte header length") }
        let declared = try r.u64(0)
        guard declared <= UInt64(maxHeaderBytes) else { throw r.fail("header length \(declared) exceeds the 100 MB limit") }
        let headerLength = Int(declared)
        let header = try r.slice(8, headerLength, "JSON header")
        guard header.first == UInt8(ascii: "{") else { throw r.fail("header does not start with '{'") }
        let json = try JSONValue.parse(Data(header), path: path)
        guard case let .object(fields) = json else { throw r.fail("header is not a JSON object") }

        let dataStart = 8 + headerLength
        let dataLength = store.count - dataStart
        var metadata: [String: String] = [:]
        var spans: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in fields {
            if name == "__metadata__" {
                guard case let .object(m) = value else { throw r.fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v.stringValue else { throw r.fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            spans.append(try parseEntry(name, value, r))
        }
        // The data offsets must tile [0, dataLength) exactly.
        spans.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        var entries: [(String, TensorData)] = []
        entries.reserveCapacity(spans.count)
        for s in spans {
            guard s.begin == cursor else {
                throw r.fail("tensor '\(s.name)' starts at data offset \(s.begin), expected \(cursor) (gap or overlap)")
            }
            guard s.end <= dataLength else {
                throw r.fail("tensor '\(s.name)' ends at data offset \(s.end) but the data section has \(dataLength) bytes")
            }
            entries.append((s.name, try TensorData(dtype: s.dtype, shape: s.shape, store: store, byteOffset: dataStart + s.begin)))
            cursor = s.end
        }
        guard cursor == dataLength else {
            throw r.fail("tensors cover \(cursor) of the \(dataLength) data bytes (file has trailing or missing bytes)")
        }
        return StateDict(entries, metadata: metadata)
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, _ r: ByteReader)
        throws -> (name: String, dtype: DType, shape: [Int], begin: Int, end: Int) {
        guard let dtypeName = value["dtype"]?.stringValue else { throw r.fail("tensor '\(name)' has no dtype string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw CheckpointError.unsupported(path: r.path, format: "safetensors",
                                              reason: "tensor '\(name)' has dtype \(dtypeName); supported: \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let dims = value["shape"]?.arrayValue else { throw r.fail("tensor '\(name)' has no shape array") }
        var shape: [Int] = []
        for d in dims {
            guard let n = d.intValue, n >= 0 else { throw r.fail("tensor '\(name)' has an invalid dimension \(d) in its shape") }
            shape.append(n)
        }
        guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, begin <= end else {
            throw r.fail("tensor '\(name)' has invalid data_offsets (need [begin, end] with 0 ≤ begin ≤ end)")
        }
        guard let n = checkedElementCount(shape), let bytes = checkedMul(n, dtype.byteSize), bytes == end - begin else {
            throw r.fail("tensor '\(name)' (\(dtypeName) \(shape)) needs \((checkedElementCount(shape)).flatMap { checkedMul($0, dtype.byteSize) }.map(String.init) ?? "too many") bytes but data_offsets span \(end - begin)")
        }
        return (name, dtype, shape, begin, end)
    }
}
