import Foundation

/// CLIP-style pretraining of a vision tower on image–text pairs: the mean of the tower's output
/// tokens through the image head is scored against the batch's distinct texts (text embedding =
/// mean of the text's token embeddings through the text head), both L2-normalised, times a fixed
/// logit scale, with cross-entropy towards the image's own text. Two images with the same text
/// share one target, so repeated answers are not pushed apart. It trains the tower and the heads;
/// the tower is left frozen and in eval mode afterwards. Use it when the data names no regions
/// (`RegionContrastiveObjective` is the per-region form).
///
/// Samples carry one image each; `texts[sample name]` are the token ids of the image's text (held-out
/// samples too: name them apart from the training samples).
public final class ImageTextContrastiveObjective: VisionTowerObjective {
    public let encoder: Module & VisionEncoder
    public let heads: ContrastiveHeads
    public let texts: [String: [Int]]
    public let logitScale: Float
    private let pixels = ContrastivePixels()

    public init(encoder: Module & VisionEncoder, texts: [String: [Int]], vocabSize: Int, textDim: Int = 64, embedDim: Int = 64,
                logitScale: Float = 10, seed: UInt64) {
        self.encoder = encoder
        self.texts = texts
        self.logitScale = logitScale
        heads = ContrastiveHeads(vocabSize: vocabSize, textDim: textDim, visionDim: encoder.outputDim, embedDim: embedDim, seed: seed)
    }

    public func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor {
        let (px, distinct, targets) = try inputs(batch.sampleNames.indices.map { b in
            (batch.imagesPerSample[b].map { batch.images[$0] }, batch.sampleNames[b])
        })
        return crossEntropy(logits: logits(encoder.encode(px), texts: distinct), targets: targets)
    }

    /// Image-vs-text scores for tower features [N, tokens, dim] and `texts`: [N, texts].
    public func logits(_ features: Tensor, texts: [[Int]]) -> Tensor {
        let pooled = features.mean(axis: 1)
        let images = normalise(heads.imageHead(pooled))
        let text = normalise(heads.textHead(RegionContrastiveObjective.meanEmbedding(texts, table: heads.tokenEmbedding)))
        return matmul(images, text, transposeB: true) * logitScale
    }

    /// The held-out score: retrieval (`retrievalAccuracy`) of each sample's text, `texts[name]`,
    /// among the samples' distinct texts.
    public func heldOutScore(_ samples: [TrainingSample]) throws -> Double {
        try retrievalAccuracy(samples.map { s -> (image: PromptImage, ids: [Int]) in
            guard s.images.count == 1, let ids = texts[s.name], !ids.isEmpty else {
                throw TrainingDataError.malformedRow(row: s.name, reason: "a held-out sample needs exactly one image and a text")
            }
            return (s.images[0], ids)
        })
    }

    /// Share of `pairs` (image, token ids) whose image scores its own text highest among the
    /// pairs' distinct texts: zero-shot retrieval on held-out images, without gradients.
    public func retrievalAccuracy(_ pairs: [(image: PromptImage, ids: [Int])], batchSize: Int = 256) throws -> Double {
        var distinct: [[Int]] = [], index: [[Int]: Int] = [:]
        for p in pairs where index[p.ids] == nil {
            index[p.ids] = distinct.count
            distinct.append(p.ids)
        }
        var right = 0
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let chunk = pairs[start..<min(start + batchSize, pairs.count)]
            let px = Tensor.stack(try chunk.enumerated().map { try self.pixels.pixels($1.image, encoder: encoder, row: "held-out image \(start + $0)") })
            let predicted = noGrad { logits(encoder.encode(px), texts: distinct).argmax(axis: -1) }
            right += zip(predicted, chunk).filter { $0 == index[$1.ids] }.count
        }
        return Double(right) / Double(max(pairs.count, 1))
    }

    /// Pixels [B, 3, H, W], the batch's distinct texts and each image's text index.
    func inputs(_ images: [([PromptImage], String)]) throws -> (Tensor, [[Int]], [Int]) {
        var px: [Tensor] = [], distinct: [[Int]] = [], index: [[Int]: Int] = [:], targets: [Int] = []
        for (list, name) in images {
            guard list.count == 1 else {
                throw TrainingDataError.malformedRow(row: name, reason: "a contrastive sample needs exactly one image, it has \(list.count)")
            }
            guard let ids = texts[name], !ids.isEmpty else {
                throw TrainingDataError.malformedRow(row: name, reason: "no text for this image")
            }
            if index[ids] == nil {
                index[ids] = distinct.count
                distinct.append(ids)
            }
            targets.append(index[ids] ?? 0)
            px.append(try pixels.pixels(list[0], encoder: encoder, row: name))
        }
        return (Tensor.stack(px), distinct, targets)
    }

    func normalise(_ x: Tensor) -> Tensor {
        x / ((x * x).sum(axis: -1, keepDims: true) + 1e-6).sqrt()
    }
}
