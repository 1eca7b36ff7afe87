import Foundation

extension MiniMindVLM {
    /// Cross-entropy of one batch (mean over its counted targets, no MoE auxiliary loss): the
    /// training loss path, shared by `VLMTrainer` and `Perplexity`. Image features come from the
    /// extractor (computed once per image) or from precomputed `.features` images.
    public func loss(_ batch: TrainingBatch, features: VisionFeatureExtractor?) throws -> Tensor {
        let projected = try Self.visionFeatures(of: batch, features: features).map { project($0) }
        return loss(ids: batch.ids, targets: batch.targets, batch: batch.batch, images: projected,
                    imagesPerSample: projected == nil ? [] : batch.imagesPerSample)
    }

    /// The batch's vision features [images, tokens, width] in `batch.images` order (nil: no image),
    /// before any projector: models that share a vision tower (a teacher and its student) share them.
    public static func visionFeatures(of batch: TrainingBatch, features: VisionFeatureExtractor?) throws -> Tensor? {
        guard !batch.images.isEmpty else { return nil }
        var feats: [Tensor] = []
        for b in 0..<batch.batch {
            let imgs = batch.imagesPerSample[b].map { batch.images[$0] }
            if let features { feats += try features.features(for: imgs, row: batch.sampleNames[b]) }
            else {
                for img in imgs {
                    guard case .features(let t) = img else {
                        throw TrainingDataError.malformedRow(row: batch.sampleNames[b], reason: "has an image but the trainer has no vision feature extractor")
                    }
                    feats.append(t)
                }
            }
        }
        return Tensor.stack(feats)
    }
}
