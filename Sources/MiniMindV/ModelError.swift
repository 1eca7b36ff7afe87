import Foundation

/// Errors from building, configuring and loading models. Messages say what is wrong in the
/// library's terms (files, fields, sizes); the command-line tool adds which flag to change.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    /// The weights alone do not say which configuration they have (a preset or a config.json would).
    case ambiguousConfig(String)
    case unknownPreset(String, available: [String])
    case missingFile(String)
    case incompatible(String)
    /// What this model cannot do (e.g. saving a user-defined vision encoder, pruning a mixture of experts).
    case unsupported(String)
    /// A part (`part`: its Swift type) does not conform to the capability protocol a pass needs
    /// (`ModelCapabilities.swift`; `use`: the pass).
    case lacksCapability(part: String, capability: String, use: String)
    /// The model was loaded without a vision encoder and was given an image.
    case noVisionEncoder
    /// Release weights given without the tokenizer they need (`path`: the weights).
    case tokenizerMissing(weights: String)
    /// The tokenizer has ids the model's embedding table has no row for.
    case vocabularyMismatch(tokenizer: Int, model: Int)
    /// A special token id (`name`: eos, bos, pad, image) outside the model's vocabulary.
    case tokenIdOutOfRange(name: String, id: Int, vocabulary: Int)

    public var description: String {
        switch self {
        case .invalidConfig(let why): return "invalid model configuration: \(why)"
        case .ambiguousConfig(let why): return "cannot infer the model configuration: \(why); it needs a preset or a config.json"
        case .unknownPreset(let name, let available):
            return "unknown preset '\(name)'; available: \(available.joined(separator: ", "))"
        case .missingFile(let what): return "missing file: \(what)"
        case .incompatible(let why), .unsupported(let why): return why
        case let .lacksCapability(part, capability, use):
            return "\(use) needs a language model that is a \(capability); \(part) is not"
        case .noVisionEncoder:
            return "this model was loaded without a vision encoder, so it takes text only: images need its vision folder"
        case .tokenizerMissing(let weights):
            return "\(weights) is not a MiniMindV model folder; release weights need a tokenizer folder (and a vision folder for images)"
        case let .vocabularyMismatch(tokenizer, model):
            return "the tokenizer has \(tokenizer) ids but the model's embedding table has \(model) rows: they belong to different models"
        case let .tokenIdOutOfRange(name, id, vocabulary):
            return "the \(name) token id \(id) is outside the model's vocabulary of \(vocabulary) (0…\(vocabulary - 1))"
        }
    }
}
