import Foundation

/// Why a prompt could not be assembled: its `<image>` markers, its images and its placeholder runs
/// must agree one to one (Docs/Model.md, "Assembling a prompt").
public enum PromptError: Error, CustomStringConvertible, Equatable {
    /// The user and assistant messages have `markers` `<image>` markers but `images` images came with them.
    case imageCountMismatch(markers: Int, images: Int)
    /// An `<image>` marker in a system message (`index` in the conversation): images belong to user turns.
    case markerInSystemMessage(index: Int)
    /// After tokenisation a run of the image placeholder id is `length` long, not one image's `expected`
    /// (two markers without text between them, or placeholder text such as '@' written next to a marker).
    case badImageRun(length: Int, expected: Int)
    /// The tokenised prompt has `runs` placeholder runs for `images` images.
    case imageRunCountMismatch(runs: Int, images: Int)
    /// Chat messages were given but the tokenizer has no chat template this SDK knows.
    case noChatTemplate

    public var description: String {
        switch self {
        case let .imageCountMismatch(markers, images):
            return "the prompt has \(markers) <image> marker(s) but \(images) image(s) were given; write one <image> per image "
                + "(a question with images and no marker gets them in front of its text)"
        case let .markerInSystemMessage(index):
            return "message \(index) is a system message with an <image> marker; images belong in user messages"
        case let .badImageRun(length, expected):
            return "an image placeholder run is \(length) tokens, expected \(expected): put some text between two <image> markers "
                + "and do not write the placeholder text next to one"
        case let .imageRunCountMismatch(runs, images):
            return "the prompt has \(runs) image placeholder run(s) but \(images) image(s) were given"
        case .noChatTemplate:
            return "the tokenizer's tokenizer_config.json has no chat template this SDK recognises"
        }
    }
}
