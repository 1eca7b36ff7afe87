import Foundation

/// The input of a conversion: its weights, and what else the layout carries — a model folder's own
/// configuration, vision folder and tokenizer files.
public struct ModelSource {
    public var state: StateDict
    /// The model's own configuration (a MiniMindV model folder's config.json); nil for bare weights.
    public var config: VLMConfig?
    public var visionFolder: URL?
    public var tokenizerFolder: URL?
    /// False when the configuration's vision tower is a stand-in (upstream's transformers layout),
    /// so a vision folder given with it is taken as is rather than checked against it.
    public var configNamesVision = true

    public static func open(_ url: URL) throws -> ModelSource {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { throw ModelError.missingFile(url.path) }
        var source = ModelSource(state: try Weights.read(url))
        guard isDir.boolValue else { return source }
        let configURL = url.appendingPathComponent("config.json")
        if TransformersVLMExport.isLayout(url) {
            // Upstream's transformers layout names no vision tower: a --vision folder supplies it.
            source.config = try TransformersVLMExport.config(json: try JSONValue.load(configURL), shapes: Weights.shapes(source.state),
                                                             vision: nil)
            source.configNamesVision = false
        } else if fm.fileExists(atPath: configURL.path), let config = try? readConfig(configURL) {
            source.config = config
        }
        let vision = url.appendingPathComponent("vision")
        if fm.fileExists(atPath: vision.appendingPathComponent("config.json").path) { source.visionFolder = vision }
        if fm.fileExists(atPath: url.appendingPathComponent("tokenizer.json").path) { source.tokenizerFolder = url }
        return source
    }

    /// The source's configuration with `vision` in place of a stand-in tower.
    public func config(vision: VisionConfig?) -> VLMConfig? {
        guard var config, !configNamesVision, let vision else { return config }
        config.vision = vision
        return config
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
