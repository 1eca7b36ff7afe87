import Foundation

extension MiniMindVLM {
    /// Cross-entropy of one batch (mean over its counted targets, with the batch's label smoothing
    /// and target weights; no MoE auxiliary loss): the
    /// training loss path, shared by `VLMTrainer` and `Perplexity`. Image features come from the
    /// extractor (computed once per image) or from precomputed `.features` images.
    public func loss(_ batch: TrainingBatch, features: VisionFeatureExtractor?) throws -> Tensor {
        let projected = try projectedImages(batch, features: features)
        return loss(ids: batch.ids, targets: batch.targets, batch: batch.batch, images: projected,
                    imagesPerSample: projected == nil ? [] : batch.imagesPerSample,
                    labelSmoothing: batch.labelSmoothing, targetWeights: batch.targetWeights)
    }

    /// The batch's images through the vision features (extractor or precomputed) and the
    /// projector: [images, tokens, hidden], nil for a batch without images.
    public func projectedImages(_ batch: TrainingBatch, features: VisionFeatureExtractor?) throws -> Tensor? {
        try Self.visionFeatures(of: batch, features: features).map { project($0) }
    }

    /// The batch's vision features [images, tokens, width] in `batch.images` order (nil: no image),
    /// before any projector: models that share a vision tower (a teacher and its student) share them.
    /// Augmented views (the batch's `imageAugmentation`) are drawn from each sample's seed.
    public static func visionFeatures(of batch: TrainingBatch, features: VisionFeatureExtractor?) throws -> Tensor? {
        guard !batch.images.isEmpty else { return nil }
        var feats: [Tensor] = []
        for b in 0..<batch.batch {
            let imgs = batch.imagesPerSample[b].map { batch.images[$0] }
            if let features {
                feats += try features.features(for: imgs, row: batch.sampleNames[b],
                                               augmentation: batch.imageAugmentation.map { a -> (ImageAugmentation, seed: UInt64) in (a.0, seed: a.seeds[b]) })
            }
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
