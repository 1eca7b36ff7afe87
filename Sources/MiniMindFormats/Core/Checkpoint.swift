import Foundation

/// One entry point for "load the weights at this path" and "save these weights there", whatever the
/// format: the file's first bytes decide, not its extension (a `.bin` may be either format).
public enum Checkpoint {
    public enum Format: String, Sendable {
        case safetensors, pth, shardedSafetensors, huggingFaceFolder
    }

    /// Detects the format of a file or folder.
    public static func format(of url: URL) throws -> Format {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: url.path, what: "checkpoint file or folder")
        }
        if isDirectory.boolValue {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) { return .huggingFaceFolder }
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(Safetensors.indexFileName).path) { return .shardedSafetensors }
            throw CheckpointError.notFound(path: url.path, what: "config.json or \(Safetensors.indexFileName) in this folder")
        }
        if url.lastPathComponent.hasSuffix(".index.json") { return .shardedSafetensors }
        let store = try ByteStore.map(url)
        let head = Array(store.buffer.prefix(9))
        if head.count >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04 { return .pth }
        if head.count == 9 && head[8] == UInt8(ascii: "{") { return .safetensors }
        if head.first == 0x80 { return .pth }  // legacy torch.save: the reader explains what to do
        throw CheckpointError.unsupported(path: url.path, format: "checkpoint",
                                          reason: "neither a torch.save zip nor a safetensors file (first bytes \(head.map { String($0, radix: 16) }))")
    }

    /// The tensors of any supported checkpoint (resume files: the model weights).
    public static func loadStateDict(_ url: URL) throws -> StateDict {
        switch try format(of: url) {
        case .safetensors: return try Safetensors.read(url)
        case .pth: return try PTHFile.load(url)
        case .huggingFaceFolder: return try HFFolder(url).loadWeights()
        case .shardedSafetensors:
            let index = url.lastPathComponent.hasSuffix(".json") ? url : url.appendingPathComponent(Safetensors.indexFileName)
            return try Safetensors.readSharded(index: index)
        }
    }

    /// Saves by extension: `.safetensors` → safetensors, `.pth`/`.pt`/`.bin`/`.ckpt` → torch.save zip.
    public static func save(_ state: StateDict, to url: URL) throws {
        switch url.pathExtension.lowercased() {
        case "safetensors": try Safetensors.write(state, to: url)
        case "pth", "pt", "bin", "ckpt": try PTHFile.write(state, to: url)
        default:
            throw CheckpointError.unsupported(path: url.path, format: "checkpoint",
                                              reason: "extension '.\(url.pathExtension)'; use .safetensors or .pth")
        }
    }
}
