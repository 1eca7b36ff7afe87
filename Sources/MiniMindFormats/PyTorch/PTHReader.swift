import Foundation

/// PyTorch checkpoints written by `torch.save` (the zip format of PyTorch ≥ 1.6; `pytorch_model.bin`
/// is the same format). `read` decodes the whole pickled object; `load` finds its state dict.
public enum PTHFile {
    /// Decodes the pickled object (dicts, lists, scalars, tensors). Tensors are zero-copy slices of
    /// the memory-mapped file unless they were saved as strided views.
    public static func read(_ url: URL) throws -> PickleValue {
        try read(store: ByteStore.map(url), path: url.path)
    }

    public static func read(data: Data, path: String = "<memory>") throws -> PickleValue {
        try read(store: .copying(data), path: path)
    }

    /// The tensors of a checkpoint: the top-level dict when it holds tensors, else the dict under
    /// "model", "state_dict", "model_state_dict" or "module" (resume files). Nested dicts of tensors
    /// are flattened with dotted names.
    public static func load(_ url: URL) throws -> StateDict {
        try stateDict(from: read(url), path: url.path)
    }

    public static func stateDict(from root: PickleValue, path: String = "<checkpoint>") throws -> StateDict {
        for key in ["model", "state_dict", "model_state_dict", "module"] {
            if let sub = root[key], case .dict = sub {
                let found = flatten(sub)
                if !found.isEmpty { return found }
            }
        }
        let found = flatten(root)
        guard !found.isEmpty else {
            throw CheckpointError.notFound(path: path, what: "a dict of tensors (looked at the top level and under \"model\", \"state_dict\", \"model_state_dict\", \"module\")")
        }
        return found
    }

    private static func flatten(_ value: PickleValue) -> StateDict {
        var out = StateDict()
        func walk(_ v: PickleValue, _ prefix: String) {
            guard case let .dict(items) = v else { return }
            for (k, child) in items {
                guard case let .string(name) = k else { continue }
                let full = prefix.isEmpty ? name : prefix + "." + name
                switch child {
                case let .tensor(t): out[full] = t
                case .dict: walk(child, full)
                default: continue
                }
            }
        }
        walk(value, "")
        return out
    }

    static func read(store: ByteStore, path: String) throws -> PickleValue {
        let r = ByteReader(bytes: store.buffer, path: path, format: "torch.save zip")
        let magic = store.count >= 4 ? try r.u32(0) : 0
        if magic != 0x0403_4B50 {
            if store.count >= 2, try r.u8(0) == 0x80 {
                throw CheckpointError.unsupported(path: path, format: ".pth",
                    reason: "legacy (pre-1.6, non-zip) torch.save format; load it in PyTorch and save it again with torch.save")
            }
            throw r.fail("does not start with a zip local header (PK\\x03\\x04)")
        }
        let zip = try ZipArchive(store: store, path: path)
        let pickles = zip.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2 }
        guard let pickle = pickles.first else {
            if zip.entry("constants.pkl") != nil || zip.entries.contains(where: { $0.name.hasSuffix("/constants.pkl") }) {
                throw CheckpointError.unsupported(path: path, format: ".pth", reason: "this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint")
            }
            throw CheckpointError.notFound(path: path, what: "the '<name>/data.pkl' entry of a torch.save archive")
        }
        let prefix = String(pickle.name.dropLast("/data.pkl".count))
        if let order = zip.entry(prefix + "/byteorder") {
            let text = String(decoding: try zip.bytes(order), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard text == "little" else {
                throw CheckpointError.unsupported(path: path, format: ".pth", reason: "tensors are stored '\(text)'-endian; only little-endian is read")
            }
        }

        var storages: [String: TensorData] = [:]
        let loader: PickleMachine.StorageLoader = { key, dtype, numel in
            if let cached = storages[key] {
                guard cached.dtype == dtype, cached.elementCount == numel else {
                    throw r.fail("storage '\(key)' is referenced as both \(cached.dtype.rawValue)[\(cached.elementCount)] and \(dtype.rawValue)[\(numel)]")
                }
                return cached
            }
            guard let entry = zip.entry("\(prefix)/data/\(key)") else {
                throw CheckpointError.notFound(path: path, what: "storage entry '\(prefix)/data/\(key)'")
            }
            let (offset, length) = try zip.dataRange(entry)
            guard let needed = checkedMul(numel, dtype.byteSize), needed <= length else {
                throw r.fail("storage '\(key)' declares \(numel) \(dtype.rawValue) elements but its entry has \(length) bytes")
            }
            let t = try TensorData(dtype: dtype, shape: [numel], store: store, byteOffset: offset)
            storages[key] = t
            return t
        }
        let code = try zip.bytes(pickle)
        let machine = PickleMachine(code: code, path: path, copyBudget: 4 * store.count + (64 << 20), loadStorage: loader)
        return try machine.run()
    }
}
