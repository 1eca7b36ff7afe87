import Foundation

/// Emits protocol-2 pickles that `torch.load(weights_only=True)` accepts: plain containers and
/// scalars, tensors as `torch._utils._rebuild_tensor_v2` over persistent storages, and
/// `collections.OrderedDict` for state dicts — only globals on torch's weights-only allow-list.
struct PickleWriter {
    private(set) var bytes: [UInt8] = [0x80, 0x02]
    /// Storages to write as `data/<key>`, in key order.
    private(set) var storages: [TensorData] = []
    private var storageKeys: [StorageIdentity: Int] = [:]

    private struct StorageIdentity: Hashable {
        let store: ObjectIdentifier, offset: Int, bytes: Int, dtype: DType
    }

    /// Appends `value`; a dict at the root written with `ordered` becomes an OrderedDict.
    mutating func write(_ value: PickleValue, ordered: Bool = false) {
        switch value {
        case .none: bytes.append(0x4E)
        case let .bool(b): bytes.append(b ? 0x88 : 0x89)
        case let .int(i): writeInt(i)
        case let .bigInt(raw):
            if raw.count < 256 { bytes += [0x8A, UInt8(raw.count)] } else { bytes += [0x8B] + le(UInt32(raw.count)) }
            bytes += raw
        case let .float(d): bytes.append(0x47); bytes += withUnsafeBytes(of: d.bitPattern.bigEndian) { Array($0) }
        case let .string(s): writeString(s)
        case let .bytes(d):
            // Protocol 2 has no bytes opcode usable by Python 3 readers: _codecs.encode(latin-1 text, "latin1").
            global("_codecs", "encode")
            writeString(String(d.map { Character(Unicode.Scalar($0)) }))
            writeString("latin1")
            bytes += [0x86, 0x52]                       // TUPLE2 REDUCE
        case let .list(items):
            bytes.append(0x5D)
            writeBatched(items, end: 0x65)              // APPENDS
        case let .tuple(items):
            switch items.count {
            case 0: bytes.append(0x29)
            case 1...3: for v in items { write(v) }; bytes.append([0x85, 0x86, 0x87][items.count - 1])
            default: bytes.append(0x28); for v in items { write(v) }; bytes.append(0x74)
            }
        case let .dict(items):
            if ordered { global("collections", "OrderedDict"); bytes += [0x29, 0x52] } else { bytes.append(0x7D) }
            var i = 0
            while i < items.count {             // SETITEMS in batches of 1000, like pickle
                bytes.append(0x28)
                for (k, v) in items[i..<min(i + 1000, items.count)] { write(k); write(v) }
                bytes.append(0x75)
                i += 1000
            }
        case let .tensor(t): writeTensor(t)
        }
    }

    private mutating func writeBatched(_ items: [PickleValue], end: UInt8) {
        var i = 0
        while i < items.count {
            bytes.append(0x28)
            for v in items[i..<min(i + 1000, items.count)] { write(v) }
            bytes.append(end)
            i += 1000
        }
    }

    mutating func stop() { bytes.append(0x2E) }

    private mutating func writeInt(_ i: Int64) {
        switch i {
        case 0...0xFF: bytes += [0x4B, UInt8(i)]
        case 0...0xFFFF: bytes += [0x4D] + le(UInt16(i))
        case Int64(Int32.min)...Int64(Int32.max): bytes += [0x4A] + le(Int32(i))
        default:
            // LONG1 with the shortest two's-complement encoding.
            var raw = le(i)
            while raw.count > 1 {
                let last = raw[raw.count - 1], prev = raw[raw.count - 2]
                if (last == 0 && prev & 0x80 == 0) || (last == 0xFF && prev & 0x80 != 0) { raw.removeLast() } else { break }
            }
            bytes += [0x8A, UInt8(raw.count)] + raw
        }
    }

    private mutating func writeString(_ s: String) {
        let u = Array(s.utf8)
        bytes += [0x58] + le(UInt32(u.count)) + u
    }

    private mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    /// _rebuild_tensor_v2(persistent storage, 0, size, contiguous stride, False, OrderedDict()).
    private mutating func writeTensor(_ t: TensorData) {
        let id = StorageIdentity(store: ObjectIdentifier(t.store), offset: t.byteOffset, bytes: t.byteCount, dtype: t.dtype)
        let key: Int
        if let k = storageKeys[id] { key = k } else {
            key = storages.count
            storageKeys[id] = key
            storages.append(t)
        }
        global("torch._utils", "_rebuild_tensor_v2")
        bytes.append(0x28)                                          // MARK (args)
        bytes.append(0x28)                                          // MARK (persistent id)
        writeString("storage")
        global("torch", t.dtype.torchStorageName)
        writeString(String(key))
        writeString("cpu")
        writeInt(Int64(t.elementCount))
        bytes += [0x74, 0x51]                                       // TUPLE BINPERSID
        writeInt(0)
        write(.tuple(t.shape.map { .int(Int64($0)) }))
        var strides = [Int64](repeating: 1, count: t.shape.count)
        var acc: Int64 = 1
        for i in t.shape.indices.reversed() { strides[i] = acc; acc *= Int64(max(t.shape[i], 1)) }
        write(.tuple(strides.map { .int($0) }))
        bytes.append(0x89)                                          // requires_grad False
        global("collections", "OrderedDict")
        bytes += [0x29, 0x52]                                       // backward hooks: OrderedDict()
        bytes += [0x74, 0x52]                                       // TUPLE REDUCE
    }
}

extension PTHFile {
    /// Writes `value` (a state dict or a resume-style nested dict) as a torch.save zip that
    /// `torch.load(path, weights_only=True)` reads. Atomic: a temporary file is renamed into place.
    public static func write(_ value: PickleValue, to url: URL) throws {
        try write(value, ordered: false, to: url)
    }

    /// Writes a state dict as an `OrderedDict` of tensors, like `torch.save(model.state_dict(), path)`.
    /// Tensors that share bytes (tied weights read from a checkpoint) are saved once.
    public static func write(_ state: StateDict, to url: URL) throws {
        try write(.stateDict(state), ordered: true, to: url)
    }

    private static func write(_ value: PickleValue, ordered: Bool, to url: URL) throws {
        var pickle = PickleWriter()
        pickle.write(value, ordered: ordered)
        pickle.stop()
        let prefix = "archive"
        let out = try AtomicFileWriter(url)
        let zip = ZipWriter(out)
        try zip.add("\(prefix)/data.pkl", pickle.bytes)
        try zip.add("\(prefix)/.format_version", Array("1".utf8))
        try zip.add("\(prefix)/.storage_alignment", Array("64".utf8))
        try zip.add("\(prefix)/byteorder", Array("little".utf8))
        for (key, t) in pickle.storages.enumerated() {
            try t.withUnsafeBytes { try zip.add("\(prefix)/data/\(key)", $0) }
        }
        try zip.add("\(prefix)/version", Array("3\n".utf8))
        try zip.finish()
        try out.commit()
    }
}
