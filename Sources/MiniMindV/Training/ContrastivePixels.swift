import Foundation

/// Preprocessed pixels of the images a contrastive objective sees, decoded once per image
/// (keyed by content) and reused every epoch.
final class ContrastivePixels {
    private var cache: [UInt64: Tensor] = [:]

    /// [3, H, W] for `image` at `encoder`'s preprocessing; a data error names the row.
    func pixels(_ image: PromptImage, encoder: any VisionEncoder, row: String) throws -> Tensor {
        switch image {
        case .features:
            throw TrainingDataError.malformedRow(row: row, reason: "contrastive training needs pixels, not precomputed features")
        case .pixels(let t):
            return t.shape.count == 4 ? t.reshaped(Array(t.shape.dropFirst())) : t
        case .image, .encoded, .file:
            let key = image.contentKey
            if let key, let t = cache[key] { return t }
            let t: Tensor
            do {
                guard let picture = try image.decoded() else { throw TrainingDataError.malformedRow(row: row, reason: "no picture") }
                t = try encoder.preprocessing(picture)
            } catch {
                throw TrainingDataError.malformedRow(row: row, reason: "corrupt or unreadable image: \(error)")
            }
            if let key { cache[key] = t }
            return t
        }
    }
}
