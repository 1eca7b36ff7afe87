import Foundation

/// An image of a prompt or a training row, in whichever form the caller has it: the one image type
/// of generation, chat, serving, evaluation and training. Each form enters the model at its own
/// stage: a picture (decoded or still encoded) goes through the encoder's preprocessing, pixels
/// skip it, precomputed features skip the vision encoder too (so a model without one still runs).
///
/// ```swift
/// let photo = PromptImage.image(try RGBImage(contentsOf: url))   // decoded now: errors now
/// let lazy = PromptImage.file(url)                               // decoded when its features are needed
/// let cached = PromptImage.features(visionFeatures)              // [tokens, dim] from a feature cache
/// ```
public enum PromptImage: @unchecked Sendable {
    /// A decoded picture.
    case image(RGBImage)
    /// Encoded bytes (JPEG, PNG, …), as in the Parquet `image_bytes` column or a data URL.
    case encoded(Data)
    /// An image file, as in the older JSONL + image-folder format.
    case file(URL)
    /// Preprocessed pixels [3, H, W] at the vision encoder's size.
    case pixels(Tensor)
    /// Vision-encoder features [tokens, dim] (before the projector), e.g. from `VisionFeatureCache`.
    case features(Tensor)

    /// The decoded picture, reading and decoding `.encoded` and `.file` now; nil for pixels and features.
    public func decoded(limits: ImageDecodingLimits = .default) throws -> RGBImage? {
        switch self {
        case .image(let image): return image
        case .encoded(let data): return try RGBImage(data: data, limits: limits)
        case .file(let url): return try RGBImage(contentsOf: url, limits: limits)
        case .pixels, .features: return nil
        }
    }

    /// A key for caching what is computed from this image (FNV-1a 64, `ContentHash`): of the pixels
    /// and size of a picture, of the bytes of an encoded image or file, of the float bits of pixels.
    /// nil for precomputed features (their projection is cheap) and for a file that cannot be read.
    public var contentKey: UInt64? {
        switch self {
        case .image(let image): return ContentHash.of(image)
        case .encoded(let data): return ContentHash.fnv1a64(data)
        case .file(let url): return (try? Data(contentsOf: url, options: .alwaysMapped)).map { ContentHash.fnv1a64($0) }
        case .pixels(let t):
            // Mixed with a different seed than pictures: the same bytes as floats are another image.
            return ContentHash.fnv1a64(UnsafeRawBufferPointer(start: t.pointer, count: t.count * MemoryLayout<Float>.size),
                                       seed: 0x9E37_79B9_7F4A_7C15)
        case .features: return nil
        }
    }
}
