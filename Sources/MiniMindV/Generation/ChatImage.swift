import Foundation

/// An image attached to a chat turn, with the content key its projected features are cached under.
public struct ChatImage: Sendable {
    public let image: RGBImage
    /// FNV-1a 64 of the file bytes (or of the pixels for in-memory images).
    public let key: UInt64
    /// Where it came from (a path, for messages).
    public let source: String

    public init(_ image: RGBImage, source: String = "<image>") {
        self.image = image
        key = ContentHash.of(image)
        self.source = source
    }

    /// An image decoded elsewhere, keyed by the bytes it was decoded from (e.g. a data URL's).
    public init(_ image: RGBImage, key: UInt64, source: String) {
        self.image = image
        self.key = key
        self.source = source
    }

    /// Reads and decodes an image file (JPEG, PNG, …); throws ImageError naming the file otherwise.
    public init(contentsOf url: URL) throws {
        let data = try RGBImage.readFile(url)
        image = try RGBImage(data: data, source: url.path)
        key = ContentHash.fnv1a64(data)
        source = url.path
    }
}
