import Foundation

/// Everything that can go wrong reading, decoding, encoding or preprocessing an image.
/// Messages name the file (or "<bytes>"), what was expected and what was found.
public enum ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case empty(source: String)
    case inputTooLarge(source: String, bytes: Int, limit: Int)
    case notAnImage(source: String, reason: String)
    case corrupt(source: String, format: ImageFormat, reason: String)
    case zeroSized(source: String, width: Int, height: Int)
    case tooLarge(source: String, width: Int, height: Int, maxSide: Int, maxPixels: Int)
    case invalidPixels(width: Int, height: Int, expectedBytes: Int, foundBytes: Int)
    case invalidSize(what: String, width: Int, height: Int)
    case encodingFailed(format: String, reason: String)
    case invalidConfig(file: String, key: String, expected: String, found: String)
    case unsupportedConfig(file: String, key: String, value: String, hint: String)
    case outputTooLarge(width: Int, height: Int, maxPixels: Int)
    case emptyBatch
    case batchShapeMismatch(index: Int, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "image file not found: \(path)"
        case .unreadable(let path, let reason):
            return "cannot read image file \(path): \(reason)"
        case .empty(let source):
            return "\(source): no bytes (an empty file is not an image)"
        case .inputTooLarge(let source, let bytes, let limit):
            return "\(source): \(bytes) bytes exceeds the \(limit)-byte limit of the decoder"
        case .notAnImage(let source, let reason):
            return "\(source): not a recognised image (JPEG, PNG, BMP, GIF, TGA, PNM, PSD): \(reason)"
        case .corrupt(let source, let format, let reason):
            return "\(source): corrupt or unsupported \(format.rawValue.uppercased()) data: \(reason)"
        case .zeroSized(let source, let width, let height):
            return "\(source): image has zero size (\(width)×\(height))"
        case .tooLarge(let source, let width, let height, let maxSide, let maxPixels):
            return "\(source): declared size \(width)×\(height) exceeds the limit "
                + "(each side ≤ \(maxSide), ≤ \(maxPixels) pixels); raise ImageDecodingLimits if the file is genuine"
        case .invalidPixels(let width, let height, let expected, let found):
            return "RGB pixel buffer for \(width)×\(height) must hold \(expected) bytes, found \(found)"
        case .invalidSize(let what, let width, let height):
            return "\(what): size \(width)×\(height) is invalid (both sides must be ≥ 1)"
        case .encodingFailed(let format, let reason):
            return "cannot encode \(format): \(reason)"
        case .invalidConfig(let file, let key, let expected, let found):
            return "\(file): key '\(key)': expected \(expected), found \(found)"
        case .unsupportedConfig(let file, let key, let value, let hint):
            return "\(file): key '\(key)' = \(value) is not supported: \(hint)"
        case .outputTooLarge(let width, let height, let maxPixels):
            return "preprocessing would produce a \(width)×\(height) image (more than \(maxPixels) pixels); "
                + "use a configuration with a centre crop or a fixed size"
        case .emptyBatch:
            return "cannot preprocess an empty batch of images"
        case .batchShapeMismatch(let index, let expected, let found):
            return "image \(index) of the batch preprocesses to \(found), the first image to \(expected); "
                + "a batch needs one size (use a centre crop or a fixed size)"
        }
    }
}
