import Foundation

/// The text side of a contrastive objective and the image head: a token-embedding table, a text
/// head over the mean of a phrase's token embeddings, and an image head over the tower's tokens.
public final class ContrastiveHeads: Module {
    public let tokenEmbedding: Embedding
    public let textHead: Linear
    public let imageHead: Linear

    public init(vocabSize: Int, textDim: Int, visionDim: Int, embedDim: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        tokenEmbedding = Embedding(weight: .randn([vocabSize, textDim], std: 0.5, generator: &g))
        textHead = Linear(textDim, embedDim, generator: &g)
        imageHead = Linear(visionDim, embedDim, generator: &g)
        super.init()
        register(child: "token_embedding", tokenEmbedding)
        register(child: "text_head", textHead)
        register(child: "image_head", imageHead)
    }
}

/// An objective that trains a vision tower with its contrastive heads instead of the VLM: the
/// tower's and the heads' tensors are the trainable set, and the tower is left frozen and in eval
/// mode when the run ends. `heldOutScore` is how a caller (the from-scratch recipe's vision stage)
/// scores the trained tower on unseen images without knowing which objective it has.
public protocol VisionTowerObjective: TrainingObjective {
    var encoder: Module & VisionEncoder { get }
    var heads: ContrastiveHeads { get }
    /// Zero-shot score in 0...1 on held-out samples of the training samples' form (one image each,
    /// named as the objective looks its targets up), without gradients.
    func heldOutScore(_ samples: [TrainingSample]) throws -> Double
}

public extension VisionTowerObjective {
    func trainableParameters(model: MiniMindVLM) throws -> [(String, Tensor)]? {
        encoder.unfreeze()
        return encoder.namedParameters(trainableOnly: true).map { ("vision." + $0.0, $0.1) } + heads.namedParameters(trainableOnly: true)
    }

    func willTrain() { encoder.unfreeze(); encoder.train() }
    func didTrain() { encoder.freeze(); encoder.eval() }
}

/// CLIP-style pretraining of a vision tower per region (as region-level CLIP does): every output
/// token of the tower (one image region, e.g. one patch) through the image head is scored against
/// the embeddings of every class phrase (text embedding = mean of the phrase's token embeddings
/// through the text head), both L2-normalised, times a fixed logit scale, and trained with
/// cross-entropy towards the region's own class. It trains the tower and the heads (not the VLM);
/// the tower is left frozen and in eval mode afterwards.
///
/// Samples carry one image each (`TrainingSample.images`); `regionClasses(sampleName)` gives
/// the class index of each of the tower's output tokens, in token order.
public final class RegionContrastiveObjective: VisionTowerObjective {
    public let encoder: Module & VisionEncoder
    public let heads: ContrastiveHeads
    /// Token ids of each class phrase, in class order.
    public let phrases: [[Int]]
    public let logitScale: Float
    let regionClasses: (String) throws -> [Int]
    private let pixels = ContrastivePixels()

    public init(encoder: Module & VisionEncoder, phrases: [[Int]], vocabSize: Int, textDim: Int = 64, embedDim: Int = 64,
                logitScale: Float = 10, seed: UInt64, regionClasses: @escaping (String) throws -> [Int]) {
        self.encoder = encoder
        self.phrases = phrases
        self.logitScale = logitScale
        self.regionClasses = regionClasses
        heads = ContrastiveHeads(vocabSize: vocabSize, textDim: textDim, visionDim: encoder.outputDim, embedDim: embedDim, seed: seed)
    }

    public func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor {
        let (px, targets) = try inputs(batch)
        return crossEntropy(logits: logits(encoder.encode(px)), targets: targets)
    }

    /// The held-out score: `regionAccuracy(samples)`.
    public func heldOutScore(_ samples: [TrainingSample]) throws -> Double { try regionAccuracy(samples) }

    /// Share of regions whose nearest phrase is their own (zero-shot), on `samples`, without gradients.
    public func regionAccuracy(_ samples: [TrainingSample], batchSize: Int = 256) throws -> Double {
        var right = 0, total = 0
        for start in stride(from: 0, to: samples.count, by: batchSize) {
            let (px, targets) = try inputs(TrainingBatch(Array(samples[start..<min(start + batchSize, samples.count)])))
            let predicted = noGrad { logits(encoder.encode(px)).argmax(axis: -1) }
            right += zip(predicted, targets).filter { $0 == $1 }.count
            total += targets.count
        }
        return Double(right) / Double(max(total, 1))
    }

    /// Region-vs-phrase scores for tower features [N, regions, dim]: [N·regions, phrases].
    public func logits(_ features: Tensor) -> Tensor {
        let regions = normalise(heads.imageHead(features.reshaped([-1, features.shape[2]])))
        let text = normalise(heads.textHead(Self.meanEmbedding(phrases, table: heads.tokenEmbedding)))
        return matmul(regions, text, transposeB: true) * logitScale
    }

    /// Pixels [B, 3, H, W] (each image decoded and preprocessed once) and the regions' classes.
    func inputs(_ batch: TrainingBatch) throws -> (Tensor, [Int]) {
        var images: [Tensor] = [], targets: [Int] = []
        for (b, name) in batch.sampleNames.enumerated() {
            guard batch.imagesPerSample[b].count == 1 else {
                throw TrainingDataError.malformedRow(row: name, reason: "a contrastive sample needs exactly one image, it has \(batch.imagesPerSample[b].count)")
            }
            let classes = try regionClasses(name)
            guard classes.count == encoder.outputTokens, classes.allSatisfy({ (0..<phrases.count).contains($0) }) else {
                throw TrainingDataError.malformedRow(row: name, reason: "needs \(encoder.outputTokens) region classes in 0..<\(phrases.count), has \(classes)")
            }
            images.append(try preprocessed(batch.images[batch.imagesPerSample[b][0]], row: name))
            targets += classes
        }
        return (Tensor.stack(images), targets)
    }

    private func preprocessed(_ image: PromptImage, row: String) throws -> Tensor {
        try pixels.pixels(image, encoder: encoder, row: row)
    }

    func normalise(_ x: Tensor) -> Tensor { l2Normalised(x) }

    /// Mean of each token list's embeddings: [B, dim] (padding masked out).
    static func meanEmbedding(_ lists: [[Int]], table: Embedding) -> Tensor {
        let b = lists.count, l = max(1, lists.map(\.count).max() ?? 1)
        var ids = [Int](repeating: 0, count: b * l)
        var mask = [Float](repeating: 0, count: b * l)
        for (i, list) in lists.enumerated() {
            let w = 1 / Float(max(list.count, 1))
            for (t, id) in list.enumerated() {
                ids[i * l + t] = id
                mask[i * l + t] = w
            }
        }
        let e = table(ids, shape: [b, l])
        return (e * Tensor(shape: [b, l, 1], data: mask)).sum(axis: 1)
    }
}
