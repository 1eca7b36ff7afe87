import Foundation

/// The language objective plus an image–text contrastive term against answers that fit any image
/// (Docs/Training.md, "When the model goes wrong"): per sample, the mean of its projected image
/// tokens and the mean of the LM's final-norm hidden states at its answer tokens (the counted
/// targets) form a pair; `symmetricInfoNCE` over the batch's pairs, times `weight`, is added to
/// the cross-entropy (+ MoE aux) of `VisionLanguageObjective`, all from one forward. Both sides
/// live in the LM's hidden space, so no extra heads are trained.
///
/// A training term, like dropout: in eval mode (validation, `VLMTrainer.evaluate`) the loss is
/// the language loss alone. Needs at least two samples with images in a batch (one pair has no negative; such a batch
/// gets the language loss alone). Two samples of one picture in a batch are false negatives.
public final class GroundingObjective: TrainingObjective {
    public let weight: Float
    /// Scores are cosine similarities times this (CLIP's 1 / 0.07 by default).
    public let logitScale: Float

    public init(weight: Float, logitScale: Float = 1 / 0.07) {
        self.weight = weight
        self.logitScale = logitScale
    }

    public func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor {
        guard let lm = model.language as? MiniMindLM else {
            throw TrainingError.nothingToTrain("the grounding objective needs MiniMindLM's hidden states")
        }
        let projected = try model.projectedImages(batch, features: features)
        let counted = batch.targets.indices.filter { batch.targets[$0] != TrainingSample.ignoreLabel }
        let embeddings = model.embeddings(ids: batch.ids, batch: batch.batch, images: projected,
                                          imagesPerSample: projected == nil ? [] : batch.imagesPerSample)
        let (hidden, logits) = lm.hiddenStatesAndLogits(embeddings: embeddings, keyPaddingMask: nil, rows: counted)
        var loss = crossEntropy(logits: logits, targets: counted.map { batch.targets[$0] }, labelSmoothing: batch.labelSmoothing,
                                weights: batch.targetWeights.map { w in counted.map { w[$0] } })
        if let aux = model.language.auxiliaryLoss { loss = loss + aux }
        guard weight > 0, model.isTraining, let projected, let pairs = pooled(batch, counted: counted, images: projected, hidden: hidden) else { return loss }
        return loss + symmetricInfoNCE(pairs.image, pairs.text, scale: logitScale) * weight
    }

    /// Per sample with images and answer tokens: mean image token [P, hidden] and mean answer
    /// hidden state [P, hidden] (P ≥ 2 pairs, else nil).
    func pooled(_ batch: TrainingBatch, counted: [Int], images: Tensor, hidden: Tensor) -> (image: Tensor, text: Tensor)? {
        var rowsOf = [[Int]](repeating: [], count: batch.batch)
        for (r, flat) in counted.enumerated() { rowsOf[flat / batch.length].append(r) }
        let samples = (0..<batch.batch).filter { !batch.imagesPerSample[$0].isEmpty && !rowsOf[$0].isEmpty }
        guard samples.count >= 2 else { return nil }
        let n = images.shape[0], tokens = images.shape[1]
        var imagePool = [Float](repeating: 0, count: samples.count * n)
        var textPool = [Float](repeating: 0, count: samples.count * counted.count)
        for (p, b) in samples.enumerated() {
            for i in batch.imagesPerSample[b] { imagePool[p * n + i] = 1 / Float(batch.imagesPerSample[b].count) }
            for r in rowsOf[b] { textPool[p * counted.count + r] = 1 / Float(rowsOf[b].count) }
        }
        let meanTokens = images.sum(axis: 1) * (1 / Float(tokens))  // [n, hidden]
        return (matmul(Tensor(shape: [samples.count, n], data: imagePool), meanTokens),
                matmul(Tensor(shape: [samples.count, counted.count], data: textPool), hidden))
    }
}
