import MiniMindFormats

/// Errors of quantised and low-rank model files and of the commands that write them: each names
/// the field or tensor, the value found and what is allowed.
public enum CompressionError: Error, CustomStringConvertible, Equatable {
    /// A config field with a value outside its choices (`quantization.scheme` "int3").
    case unknownValue(field: String, value: String, allowed: [String])
    /// A number outside its range (`--rank 0`, `low_rank["…q_proj"] 900`).
    case outOfRange(field: String, value: String, allowed: String)
    /// A tensor whose dtype or shape is not what the scheme and the layer say.
    case badTensor(name: String, expected: String, found: String)
    case missingTensor(name: String)
    /// A weight or scale that is NaN or infinite (or a negative scale).
    case nonFinite(name: String, index: Int)
    /// A layer the scheme cannot store (columns not a multiple of 32).
    case unsupportedLayer(name: String, why: String)
    /// A layer pattern that names no layer.
    case noMatchingLayers(pattern: String)

    public var description: String {
        switch self {
        case let .unknownValue(field, value, allowed):
            return "\(field) is '\(value)'; allowed: \(allowed.joined(separator: ", "))"
        case let .outOfRange(field, value, allowed): return "\(field) is \(value); allowed: \(allowed)"
        case let .badTensor(name, expected, found): return "tensor '\(name)': expected \(expected), found \(found)"
        case .missingTensor(let name): return "tensor '\(name)' is missing"
        case let .nonFinite(name, index): return "tensor '\(name)' has a non-finite or negative value at index \(index)"
        case let .unsupportedLayer(name, why): return "layer '\(name)' cannot be stored this way: \(why)"
        case .noMatchingLayers(let pattern): return "no linear layer matches '\(pattern)'"
        }
    }
}
