import Foundation

/// Sharded safetensors folders (`model.safetensors.index.json` + `model-0000i-of-0000n.safetensors`),
/// the layout Hugging Face `save_pretrained` writes for large models.
extension Safetensors {
    public static let indexFileName = "model.safetensors.index.json"

    /// Reads every shard listed in the index's `weight_map`. Each listed tensor must be present in
    /// its shard; shards may not name files outside the index's folder.
    public static func readSharded(index url: URL) throws -> StateDict {
        let json = try JSONValue.load(url)
        guard let map = json["weight_map"]?.objectValue else {
            throw CheckpointError.malformed(path: url.path, format: "safetensors index", reason: "no \"weight_map\" object")
        }
        let folder = url.deletingLastPathComponent()
        var byShard: [String: [String]] = [:]
        for (name, file) in map {
            guard let f = file.stringValue, !f.isEmpty, !f.contains("/"), !f.contains("\\"), f != "..", f != "." else {
                throw CheckpointError.malformed(path: url.path, format: "safetensors index",
                                                reason: "weight_map entry for '\(name)' is not a file name in the same folder")
            }
            byShard[f, default: []].append(name)
        }
        var result = StateDict()
        for shard in byShard.keys.sorted() {
            let shardURL = folder.appendingPathComponent(shard)
            let part = try read(shardURL)
            for name in part.keys where result[name] == nil {
                if let t = part[name] { result[name] = t }
            }
            for name in byShard[shard] ?? [] where part[name] == nil {
                throw CheckpointError.notFound(path: shardURL.path, what: "tensor '\(name)' listed in \(indexFileName)")
            }
        }
        if let meta = json["metadata"]?.objectValue {
            for (k, v) in meta { if let s = v.stringValue { result.metadata[k] = s } else if let i = v.intValue { result.metadata[k] = String(i) } }
        }
        return result
    }

    /// Writes `state` into `folder` as shards of at most `maxShardBytes` (a tensor larger than the
    /// limit gets its own shard) plus the index, using Hugging Face's file names. A state that fits
    /// one shard is written as `model.safetensors` without an index.
    @discardableResult
    public static func writeSharded(_ state: StateDict, to folder: URL, maxShardBytes: Int) throws -> [URL] {
        var shards: [[(String, TensorData)]] = [[]]
        var size = 0
        for (name, t) in state.entries {
            if size > 0 && size + t.byteCount > maxShardBytes { shards.append([]); size = 0 }
            shards[shards.count - 1].append((name, t))
            size += t.byteCount
        }
        if shards.count == 1 {
            let url = folder.appendingPathComponent("model.safetensors")
            try write(state, to: url)
            return [url]
        }
        var urls: [URL] = []
        var weightMap: [String: JSONValue] = [:]
        for (i, shard) in shards.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count)
            let url = folder.appendingPathComponent(name)
            try write(StateDict(shard, metadata: state.metadata), to: url)
            for (k, _) in shard { weightMap[k] = .string(name) }
            urls.append(url)
        }
        let index = JSONValue.object(["metadata": .object(["total_size": .int(Int64(state.entries.reduce(0) { $0 + $1.tensor.byteCount }))]),
                                      "weight_map": .object(weightMap)])
        let indexURL = folder.appendingPathComponent(indexFileName)
        let out = try AtomicFileWriter(indexURL)
        try out.write(try index.serialized())
        try out.commit()
        return urls + [indexURL]
    }
}
