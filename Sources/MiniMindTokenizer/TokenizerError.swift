// Errors for everything that reads tokenizer files, id lists or chat templates.
import Foundation

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read at all.
    case unreadableFile(path: String, reason: String)
    /// The file is not valid JSON or its top level is not an object.
    case invalidJSON(path: String, reason: String)
    /// A key is missing or has the wrong type.
    case badField(path: String, key: String, expected: String, found: String)
    /// The file uses a feature this tokenizer does not implement.
    case unsupported(path: String, key: String, found: String, supported: String)
    /// A merge names a token that is not in the vocabulary.
    case unknownMergeToken(path: String, mergeIndex: Int, token: String)
    /// A token string (e.g. bos_token) is not in the vocabulary.
    case unknownToken(path: String, key: String, token: String)
    /// Trainer settings that cannot produce a tokenizer.
    case invalidTrainerSettings(String)
    /// Writing a file failed.
    case writeFailed(path: String, reason: String)
    /// A number in the file is outside what can be honoured (checked before allocating for it).
    case valueOutOfRange(path: String, key: String, value: String, allowed: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case let .invalidJSON(path, reason):
            return "\(path) is not a valid tokenizer JSON file: \(reason)"
        case let .badField(path, key, expected, found):
            return "\(path): key '\(key)' should be \(expected), found \(found)"
        case let .unsupported(path, key, found, supported):
            return "\(path): '\(key)' = \(found) is not supported (supported: \(supported))"
        case let .unknownMergeToken(path, index, token):
            return "\(path): merge #\(index) uses token '\(token)' which is not in model.vocab"
        case let .unknownToken(path, key, token):
            return "\(path): \(key) '\(token)' is not in the vocabulary or added_tokens"
        case let .invalidTrainerSettings(message):
            return "invalid BPE trainer settings: \(message)"
        case let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        case let .valueOutOfRange(path, key, value, allowed):
            return "\(path): \(key) = \(value) is out of range (allowed: \(allowed))"
        }
    }
}
