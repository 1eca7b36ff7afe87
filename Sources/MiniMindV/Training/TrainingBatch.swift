import Foundation

/// One micro-batch ready for the model: inputs and shifted targets, cut to the longest sample.
/// Upstream pads every sample to max_seq_len and runs X = ids[:-1] against Y = ids[1:]; because
/// attention is causal and padding carries no labels, running only the first (longest − 1)
/// positions gives the same loss and gradients with less work (`padToMaxLength` keeps upstream's shape).
public struct TrainingBatch {
    public let batch: Int
    public let length: Int
    /// Input ids [batch · length], row-major, right-padded with 0.
    public let ids: [Int]
    /// Target of each input position: labels[t+1] of the sample, -100 where nothing counts.
    public let targets: [Int]
    /// Indices into `images` per sample, in prompt order.
    public let imagesPerSample: [[Int]]
    public let images: [PromptImage]
    public let sampleNames: [String]
    /// Real (non-padding) input tokens.
    public let realTokens: Int
    /// Weight of each target in the language loss (from the samples' `lossWeights`; nil: all 1).
    /// The trainer clears it for validation, which measures the plain loss.
    public var targetWeights: [Float]?
    /// Label smoothing ε of the language loss (the trainer sets the recipe's for training batches).
    public var labelSmoothing: Float = 0
    /// Training only: the augmentation of the batch's pictures and one seed per sample (nil: plain views).
    public var imageAugmentation: (ImageAugmentation, seeds: [UInt64])?

    /// `padTo`: upstream's fixed length. It runs `fixedLength − 1` positions (MiniMind2-V: X = ids[:-1]),
    /// or all `fixedLength` with `inputsAtFullLength` (minimind-3v feeds the whole padded sequence and
    /// shifts the labels in the loss; the last position has no target). Only MoE routers see the difference.
    public init(_ samples: [TrainingSample], padTo fixedLength: Int? = nil, inputsAtFullLength: Bool = false) {
        precondition(!samples.isEmpty, "TrainingBatch: empty batch")
        let longest = samples.map(\.ids.count).max() ?? 1
        let length = fixedLength.map { max(1, max($0, longest) - (inputsAtFullLength ? 0 : 1)) } ?? max(1, longest - 1)
        var ids = [Int](repeating: TrainingSample.padId, count: samples.count * length)
        var targets = [Int](repeating: TrainingSample.ignoreLabel, count: samples.count * length)
        var imagesPerSample: [[Int]] = []
        var images: [PromptImage] = []
        var real = 0
        var weights: [Float]? = samples.contains { $0.lossWeights != nil }
            ? [Float](repeating: 1, count: samples.count * length) : nil
        for (b, s) in samples.enumerated() {
            if let w = s.lossWeights {
                for t in 0..<min(w.count - 1, length) { weights?[b * length + t] = w[t + 1] }
            }
            let n = min(s.ids.count, length)
            for t in 0..<n { ids[b * length + t] = s.ids[t] }
            for t in 0..<min(s.labels.count - 1, length) { targets[b * length + t] = s.labels[t + 1] }
            real += min(s.ids.count, length + 1) - 1
            imagesPerSample.append(Array(images.count..<(images.count + s.images.count)))
            images += s.images
        }
        self.batch = samples.count
        self.length = length
        self.ids = ids
        self.targets = targets
        self.imagesPerSample = imagesPerSample
        self.images = images
        self.sampleNames = samples.map(\.name)
        self.realTokens = real
        self.targetWeights = weights
    }
}
