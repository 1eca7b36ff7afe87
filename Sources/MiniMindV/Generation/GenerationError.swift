import Foundation

/// Errors of generation and chat; the message says what to change, in the library's terms.
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case emptyPrompt
    /// The prompt alone does not leave room for one new token in the context.
    case promptTooLong(tokens: Int, context: Int)
    case tokenOutOfVocabulary(id: Int, vocabulary: Int)
    /// Image `index` of a prompt, given as pixels or features, does not have the model's shape.
    case imageShape(index: Int, form: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .invalidOption(let why): return "invalid sampling option: \(why)"
        case .emptyPrompt: return "the prompt is empty: give some text (or an image)"
        case let .promptTooLong(tokens, context):
            return "the prompt is \(tokens) tokens but the context holds \(context) (one new token needs a free slot); "
                + "shorten the prompt, use fewer images, or raise the context length"
        case let .tokenOutOfVocabulary(id, vocabulary):
            return "token id \(id) is outside the model's vocabulary of \(vocabulary)"
        case let .imageShape(index, form, expected, found):
            return "image \(index) is given as \(form) of shape \(found) but this model takes \(form) of shape \(expected)"
        }
    }
}
