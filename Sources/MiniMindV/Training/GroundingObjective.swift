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
        /// The `mismatch` hinge with a picture known to contradict the answer: one from a training
        /// sample that asks the same question and answers otherwise (`GroundingNegatives`, found in
        /// the trainer's samples). Samples with no such sample are left out.
        case sameQuestion = "same-question"
    }

    public let weight: Float
    public let term: Term
    /// Scores are cosine similarities times this (CLIP's 1 / 0.07 by default; `contrastive`).
    public let logitScale: Float
    /// Mean answer NLL (nats) that another picture must add (`mismatch`, `sameQuestion`).
    public let margin: Float
    /// Where `sameQuestion` finds its pictures (`TrainingRecipe.defaultObjective(samples:)` fills it
    /// from the trainer's samples; nil: the term throws).
    public var negatives: GroundingNegatives?

    public init(weight: Float, term: Term = .contrastive, logitScale: Float = 1 / 0.07, margin: Float = 1,
                negatives: GroundingNegatives? = nil) {
        self.weight = weight
        self.term = term
        self.logitScale = logitScale
        self.margin = margin
        self.negatives = negatives
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
            let (otherImages, valid) = rolledImages(batch, images: projected, samples: pairs.samples, answers: pairs.answers)
            guard let hinge = try likelihoodMargin(batch, lm: lm, model: model, counted: counted, otherImages: otherImages,
                                                   logits: logits, samples: pairs.samples, valid: valid) else { return loss }
            return loss + hinge * weight
        case .sameQuestion:
            guard let (otherImages, valid) = try sameQuestionImages(batch, model: model, features: features, images: projected, samples: pairs.samples),
                  let hinge = try likelihoodMargin(batch, lm: lm, model: model, counted: counted, otherImages: otherImages,
                                                   logits: logits, samples: pairs.samples, valid: valid) else { return loss }
            return loss + hinge * weight
        }
    }

    /// The images of a second forward for `mismatch`: sample `samples[i]` sees the pictures of
    /// `samples[(i + 1) % p]`, slot by slot (cyclically); `valid`: the pairs whose answers differ.
    func rolledImages(_ batch: TrainingBatch, images: Tensor, samples: [Int], answers: [Int]) -> (Tensor, [Bool]) {
        let p = samples.count
        var rolled = Array(0..<images.shape[0])
        for (i, b) in samples.enumerated() {
            let partner = batch.imagesPerSample[samples[(i + 1) % p]]
            for (k, slot) in batch.imagesPerSample[b].enumerated() { rolled[slot] = partner[k % partner.count] }
        }
        let valid = (0..<p).map { answers[$0] != answers[($0 + 1) % p] }
        return (indexSelect(images, axis: 0, indices: rolled), valid)
    }

    /// The images of a second forward for `sameQuestion`: each sample's slots hold the projected
    /// pictures of a sample with its question and another answer (`negatives`), chosen by a hash of
    /// the batch's tokens (reproducible, and another choice when the batch is another); `valid`: the
    /// samples that have one.
    func sameQuestionImages(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?, images: Tensor,
                            samples: [Int]) throws -> (Tensor, [Bool])? {
        guard let negatives else {
            throw InputRangeError(field: "GroundingObjective.negatives", value: "nil", allowed: "the training samples' GroundingNegatives",
                                  note: "the same-question term finds its pictures in the training data")
        }
        let seed = batch.ids.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64(truncatingIfNeeded: $1)) &* 0x0000_0100_0000_01b3 }  // FNV-1a
        var order = Array(0..<images.shape[0])
        var extra: [Tensor] = [], valid: [Bool] = []
        for (i, b) in samples.enumerated() {
            guard let split = GroundingNegatives.split(batch, sample: b),
                  let negative = try negatives.negative(for: split, pick: seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15),
                  negative.images.count == batch.imagesPerSample[b].count else { valid.append(false); continue }
            let feats: [Tensor]
            if let features { feats = try features.features(for: negative.images, row: negative.name) }
            else {
                feats = try negative.images.map { image in
                    guard case .features(let t) = image else {
                        throw TrainingDataError.malformedRow(row: negative.name, reason: "has an image but the trainer has no vision feature extractor")
                    }
                    return t
                }
            }
            for (k, slot) in batch.imagesPerSample[b].enumerated() { order[slot] = images.shape[0] + extra.count + k }
            extra += feats
            valid.append(true)
        }
        guard !extra.isEmpty else { return nil }
        let all = Tensor.concat([images, model.project(Tensor.stack(extra))], axis: 0)
        return (indexSelect(all, axis: 0, indices: order), valid)
    }

    /// The hinge of `mismatch` and `sameQuestion`: per sample of `samples` marked `valid`,
    /// max(0, margin − (NLL(answer | otherImages) − NLL(answer | own images))), the NLLs the mean over
    /// its answer tokens; the mean over the valid samples (nil if none).
    func likelihoodMargin(_ batch: TrainingBatch, lm: any HiddenStatesLanguageModel, model: MiniMindVLM, counted: [Int], otherImages: Tensor,
                          logits: Tensor, samples: [Int], valid: [Bool]) throws -> Tensor? {
        let p = samples.count
        let used = valid.filter { $0 }.count
        guard used > 0 else { return nil }
        let other = model.embeddings(ids: batch.ids, batch: batch.batch, images: otherImages, imagesPerSample: batch.imagesPerSample)
        let otherLogits = lm.hiddenStatesAndLogits(embeddings: other, keyPaddingMask: nil, rows: counted).logits
        let targets = counted.map { batch.targets[$0] }
        let own = crossEntropy(logits: logits, targets: targets, reduction: .none)
        let theirs = crossEntropy(logits: otherLogits, targets: targets, reduction: .none)
        // Mean NLL per pair: [p, rows] · [rows, 1].
        var pool = [Float](repeating: 0, count: p * counted.count)
        for (i, b) in samples.enumerated() {
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
