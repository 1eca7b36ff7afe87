import Foundation

/// The input of a conversion: its weights, and what else the layout carries — a model folder's own
/// configuration, vision folder and tokenizer files.
public struct ModelSource {
    public var state: StateDict
    /// The model's own configuration (a MiniMindV model folder's config.json); nil for bare weights.
    public var config: VLMConfig?
    public var visionFolder: URL?
    public var tokenizerFolder: URL?

    public static func open(_ url: URL) throws -> ModelSource {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { throw ModelError.missingFile(url.path) }
        var source = ModelSource(state: try Weights.read(url))
        guard isDir.boolValue else { return source }
        let configURL = url.appendingPathComponent("config.json")
        if fm.fileExists(atPath: configURL.path), let config = try? readConfig(configURL) { source.config = config }
        let vision = url.appendingPathComponent("vision")
        if fm.fileExists(atPath: vision.appendingPathComponent("config.json").path) { source.visionFolder = vision }
        if fm.fileExists(atPath: url.appendingPathComponent("tokenizer.json").path) { source.tokenizerFolder = url }
        return source
    }

    /// A MiniMindV config.json (what a model folder holds).
    public static func readConfig(_ url: URL) throws -> VLMConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ModelError.missingFile(url.path) }
        do {
            let config = try JSONDecoder().decode(VLMConfig.self, from: data)
            try config.validate()
            return config
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError.invalidConfig("\(url.path) is not a MiniMindV model config.json (\(error))")
        }
    }
}
