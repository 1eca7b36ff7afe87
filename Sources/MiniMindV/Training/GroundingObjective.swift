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
/// gets the language loss alone). Samples whose answers are the same token sequence (VQA data repeats
/// "left", "two", "yes" across pictures) are not each other's negatives (`symmetricInfoNCE`'s groups);
/// two questions about one picture with different answers still are.
public final class GroundingObjective: TrainingObjective {
    /// Which term grounds the answers.
    public enum Term: String, Codable, Sendable, CaseIterable {
        /// Symmetric InfoNCE between each sample's mean projected image token and its mean answer
        /// hidden state (CLIP-style, in the LM's hidden space).
        case contrastive
        /// A margin on the answer's likelihood with another sample's picture: per sample,
        /// max(0, margin − (NLL(answer | other picture) − NLL(answer | own picture))), the pictures
        /// rolled by one within the batch (a second forward). Pairs whose answers are equal are left
        /// out. It directly penalises answers that fit any picture.
        case mismatch
    }

    public let weight: Float
    public let term: Term
    /// Scores are cosine similarities times this (CLIP's 1 / 0.07 by default; `contrastive`).
    public let logitScale: Float
    /// Mean answer NLL (nats) that another picture must add (`mismatch`).
    public let margin: Float

    public init(weight: Float, term: Term = .contrastive, logitScale: Float = 1 / 0.07, margin: Float = 1) {
        self.weight = weight
        self.term = term
        self.logitScale = logitScale
        self.margin = margin
    }

    public func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor {
        let lm = try model.language.capability((any HiddenStatesLanguageModel).self, for: "the grounding objective")
        let projected = try model.projectedImages(batch, features: features)
        let counted = batch.targets.indices.filter { batch.targets[$0] != TrainingSample.ignoreLabel }
        let embeddings = model.embeddings(ids: batch.ids, batch: batch.batch, images: projected,
                                          imagesPerSample: projected == nil ? [] : batch.imagesPerSample)
        let (hidden, logits) = lm.hiddenStatesAndLogits(embeddings: embeddings, keyPaddingMask: nil, rows: counted)
        var loss = crossEntropy(logits: logits, targets: counted.map { batch.targets[$0] }, labelSmoothing: batch.labelSmoothing,
                                weights: batch.targetWeights.map { w in counted.map { w[$0] } })
        if let aux = model.language.auxiliaryLoss { loss = loss + aux }
        guard weight > 0, model.isTraining, let projected, let pairs = pooled(batch, counted: counted, images: projected, hidden: hidden) else { return loss }
        switch term {
        case .contrastive:
            return loss + symmetricInfoNCE(pairs.image, pairs.text, scale: logitScale, groups: pairs.answers) * weight
        case .mismatch:
            guard let margin = try mismatchMargin(batch, lm: lm, model: model, counted: counted, images: projected,
                                                  logits: logits, pairs: pairs) else { return loss }
            return loss + margin * weight
        }
    }

    /// The `mismatch` term (mean over the pairs whose partner's answer differs; nil if none).
    func mismatchMargin(_ batch: TrainingBatch, lm: any HiddenStatesLanguageModel, model: MiniMindVLM, counted: [Int], images: Tensor,
                        logits: Tensor, pairs: (image: Tensor, text: Tensor, answers: [Int], samples: [Int])) throws -> Tensor? {
        let p = pairs.samples.count
        // Sample pairs.samples[i] sees the pictures of pairs.samples[(i + 1) % p], slot by slot (cyclically).
        var rolled = Array(0..<images.shape[0])
        for (i, b) in pairs.samples.enumerated() {
            let partner = batch.imagesPerSample[pairs.samples[(i + 1) % p]]
            for (k, slot) in batch.imagesPerSample[b].enumerated() { rolled[slot] = partner[k % partner.count] }
        }
        let valid = (0..<p).map { pairs.answers[$0] != pairs.answers[($0 + 1) % p] }
        let used = valid.filter { $0 }.count
        guard used > 0 else { return nil }
        let other = model.embeddings(ids: batch.ids, batch: batch.batch, images: indexSelect(images, axis: 0, indices: rolled),
                                     imagesPerSample: batch.imagesPerSample)
        let otherLogits = lm.hiddenStatesAndLogits(embeddings: other, keyPaddingMask: nil, rows: counted).logits
        let targets = counted.map { batch.targets[$0] }
        let own = crossEntropy(logits: logits, targets: targets, reduction: .none)
        let theirs = crossEntropy(logits: otherLogits, targets: targets, reduction: .none)
        // Mean NLL per pair: [p, rows] · [rows, 1].
        var pool = [Float](repeating: 0, count: p * counted.count)
        for (i, b) in pairs.samples.enumerated() {
            let rows = counted.indices.filter { counted[$0] / batch.length == b }
            for r in rows { pool[i * counted.count + r] = 1 / Float(rows.count) }
        }
        let poolT = Tensor(shape: [p, counted.count], data: pool)
        let gap = matmul(poolT, theirs.reshaped([counted.count, 1])) - matmul(poolT, own.reshaped([counted.count, 1]))
        let shortfall = (gap * -1) + margin  // margin − gap, [p, 1]
        let values = shortfall.toArray()
        let hinge = maskedFill(shortfall, mask: (0..<p).map { !valid[$0] || values[$0] <= 0 }, value: 0)
        return hinge.sum() * (1 / Float(used))
    }

    /// Per sample with images and answer tokens: mean image token [P, hidden], mean answer
    /// hidden state [P, hidden] (P ≥ 2 pairs, else nil), and an id per pair that is equal for pairs
    /// whose answer tokens are equal.
    func pooled(_ batch: TrainingBatch, counted: [Int], images: Tensor, hidden: Tensor) -> (image: Tensor, text: Tensor, answers: [Int], samples: [Int])? {
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
        var ids: [[Int]: Int] = [:]
        let answers = samples.map { b in
            let key = rowsOf[b].map { batch.targets[counted[$0]] }
            if let id = ids[key] { return id }
            ids[key] = ids.count
            return ids.count - 1
        }
        let meanTokens = images.sum(axis: 1) * (1 / Float(tokens))  // [n, hidden]
        return (matmul(Tensor(shape: [samples.count, n], data: imagePool), meanTokens),
                matmul(Tensor(shape: [samples.count, counted.count], data: textPool), hidden), answers, samples)
    }
}
