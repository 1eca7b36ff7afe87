import Foundation

/// A Hugging Face model folder: `config.json`, weights as `model.safetensors`, a sharded
/// `model.safetensors.index.json`, or `pytorch_model.bin` (torch.save zip), and optionally
/// `preprocessor_config.json` (CLIP / SigLIP image settings).
public struct HFFolder {
    public let url: URL
    public let config: JSONValue
    public let preprocessorConfig: JSONValue?

    public init(_ url: URL) throws {
        self.url = url
        let configURL = url.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw CheckpointError.notFound(path: url.path, what: "config.json (is this a Hugging Face model folder?)")
        }
        config = try JSONValue.load(configURL)
        let pre = url.appendingPathComponent("preprocessor_config.json")
        preprocessorConfig = FileManager.default.fileExists(atPath: pre.path) ? try JSONValue.load(pre) : nil
    }

    /// The weights file(s) found, in order of preference.
    public enum WeightsLocation: Equatable {
        case safetensors(URL), shardedSafetensors(index: URL), pytorchBin(URL)
    }

    public func weightsLocation() throws -> WeightsLocation {
        let fm = FileManager.default
        let single = url.appendingPathComponent("model.safetensors")
        if fm.fileExists(atPath: single.path) { return .safetensors(single) }
        let index = url.appendingPathComponent(Safetensors.indexFileName)
        if fm.fileExists(atPath: index.path) { return .shardedSafetensors(index: index) }
        let bin = url.appendingPathComponent("pytorch_model.bin")
        if fm.fileExists(atPath: bin.path) { return .pytorchBin(bin) }
        throw CheckpointError.notFound(path: url.path, what: "weights (model.safetensors, \(Safetensors.indexFileName) or pytorch_model.bin)")
    }

    /// All weights as one state dict.
    public func loadWeights() throws -> StateDict {
        switch try weightsLocation() {
        case let .safetensors(u): return try Safetensors.read(u)
        case let .shardedSafetensors(i): return try Safetensors.readSharded(index: i)
        case let .pytorchBin(u): return try PTHFile.load(u)
        }
    }
}
