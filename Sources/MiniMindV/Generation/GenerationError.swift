import Foundation

/// Errors of generation and chat; the message says what to change.
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case emptyPrompt
    /// The prompt alone does not leave room for one new token in the context.
    case promptTooLong(tokens: Int, context: Int)
    case imageCountMismatch(markers: Int, images: Int)
    case badImageRun(length: Int, expected: Int)
    case tokenOutOfVocabulary(id: Int, vocabulary: Int)
    case noChatTemplate(String)

    public var description: String {
        switch self {
        case .invalidOption(let why): return "invalid sampling option: \(why)"
        case .emptyPrompt: return "the prompt is empty: give some text (or an image)"
        case let .promptTooLong(tokens, context):
            return "the prompt is \(tokens) tokens but the context holds \(context) (one new token needs a free slot); "
                + "shorten the prompt, use fewer images, or raise the context length (--context)"
        case let .imageCountMismatch(markers, images):
            return "the prompt has \(markers) image placeholder run(s) (<image>) but \(images) image(s) were given; "
                + "write one <image> per image"
        case let .badImageRun(length, expected):
            return "an image placeholder run is \(length) tokens, expected \(expected): put some text between two <image> markers"
        case let .tokenOutOfVocabulary(id, vocabulary):
            return "token id \(id) is outside the model's vocabulary of \(vocabulary)"
        case .noChatTemplate(let why): return "no chat template: \(why)"
        }
    }
}
