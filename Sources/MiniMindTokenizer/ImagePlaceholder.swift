// `<image>` in a user's text is replaced by the model's image-token run before tokenisation
// (Docs/Model.md, "Projector and image splicing"): MiniMind2-V '@' x 196 (id 34 each), minimind-3v '<|image_pad|>' x 64 (id 12 each).

public struct ImagePlaceholder: Equatable, Sendable {
    /// One image token's text.
    public var token: String
    /// Tokens per image.
    public var count: Int

    public init(token: String, count: Int) {
        self.token = token
        self.count = count
    }

    public static let minimind2V = ImagePlaceholder(token: "@", count: 196)
    public static let minimind3V = ImagePlaceholder(token: "<|image_pad|>", count: 64)

    /// The text one image becomes.
    public var expansion: String { String(repeating: token, count: max(0, count)) }
}

/// Replaces every `marker` (default "<image>") in `text` by `placeholder` repeated `count` times.
public func expandImagePlaceholders(_ text: String, placeholder: String, count: Int, marker: String = "<image>") -> String {
    let parts = PyStr.split(text, marker)
    return parts.joined(separator: String(repeating: placeholder, count: max(0, count)))
}

public extension ImagePlaceholder {
    func expand(_ text: String, marker: String = "<image>") -> String {
        expandImagePlaceholders(text, placeholder: token, count: count, marker: marker)
    }
}
