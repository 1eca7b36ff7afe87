import Foundation

/// Why `ModelConversion` refuses a request, in the library's terms (its fields: `preset`,
/// `configFile`, `dtype`, `tokenizer`, …); the command line adds which flag to change.
public enum ConversionError: Error, CustomStringConvertible, Equatable {
    /// A quantised model is always a model folder; `output` names a file format.
    case quantizedNeedsFolder(output: String)
    /// A preset or configuration was given for a weights-file output, which holds tensors only.
    case configForWeightsFile(output: String)
    /// GGUF output was asked for with a float storage dtype; GGUF has its own weight types.
    case dtypeForGGUF
    /// GGUF output carries the tokenizer, and none was given or found next to the weights.
    case ggufNeedsTokenizer
    /// A configuration was given for a source that has its own config.json.
    case configGivenTwice(input: String)
    /// A quantised model folder must be complete, and the vision or tokenizer folder is missing.
    case quantizedNeedsVisionAndTokenizer
    /// The preset disagrees with the model's own config.json.
    case presetContradictsConfig(preset: String, differences: [String])
    /// The preset disagrees with the shapes of the weights.
    case presetContradictsWeights(preset: String, differences: [String])

    public var description: String {
        switch self {
        case .quantizedNeedsFolder(let output):
            return "a quantised model is written as a model folder; \(output) names another format"
        case .configForWeightsFile(let output):
            return "a preset or a config describes a model folder; a weights file (\(output)) holds tensors only"
        case .dtypeForGGUF:
            return "GGUF output has its own weight types (f32, f16, q8_0, q4_0), not a float storage dtype"
        case .ggufNeedsTokenizer:
            return "GGUF output carries the tokenizer, and these weights come without one (a model folder has its own)"
        case .configGivenTwice(let input):
            return "\(input) has its own config.json; a separate config is for weights without one"
        case .quantizedNeedsVisionAndTokenizer:
            return "a quantised model folder is complete: these weights need a vision folder and a tokenizer folder (a model folder has its own)"
        case let .presetContradictsConfig(preset, differences):
            return "the preset \(preset) contradicts the model's own config.json: \(differences.joined(separator: ", "))"
        case let .presetContradictsWeights(preset, differences):
            return "the preset \(preset) contradicts the weights: \(differences.joined(separator: ", "))"
        }
    }
}
