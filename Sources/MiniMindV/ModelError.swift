import Foundation

/// Errors from building, configuring and loading models; messages say what to change.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case ambiguousConfig(String)
    case unknownPreset(String, available: [String])
    case missingFile(String)
    case incompatible(String)

    public var description: String {
        switch self {
        case .invalidConfig(let why): return "invalid model configuration: \(why)"
        case .ambiguousConfig(let why): return "cannot infer the model configuration: \(why); pass --preset or a config.json"
        case .unknownPreset(let name, let available):
            return "unknown preset '\(name)'; available: \(available.joined(separator: ", "))"
        case .missingFile(let what): return "missing file: \(what)"
        case .incompatible(let why): return why
        }
    }
}
