import Foundation

/// One tokenised training example (Docs/Model.md, "Training samples"). `ids` are the real tokens (templated, `<image>`
/// expanded, truncated to max_seq_len); `labels` has the same length: the token id inside assistant
/// answers (from right after `<|im_start|>assistant\n` through the following `<|im_end|>\n`
/// inclusive) and -100 elsewhere. Labels are not shifted: the loss compares logits[t] with
/// labels[t+1]. Padding is added by the batch collator (`padded(to:)` is the upstream layout).
public struct TrainingSample: @unchecked Sendable {
    public static let ignoreLabel = -100
    public static let padId = 0

    public var ids: [Int]
    public var labels: [Int]
    /// The images whose features fill the placeholder runs of `ids`, in order.
    public var images: [PromptImage]
    public var name: String
    /// Weight of each position's label in the language loss (`LossWeights`); nil: all 1.
    public var lossWeights: [Float]?

    public init(ids: [Int], labels: [Int], images: [PromptImage] = [], name: String = "") {
        precondition(ids.count == labels.count, "TrainingSample: \(ids.count) ids but \(labels.count) labels")
        self.ids = ids
        self.labels = labels
        self.images = images
        self.name = name
    }

    /// Number of labels that count in the loss (targets of the shifted loss: positions ≥ 1).
    public var countedLabels: Int { labels.dropFirst().filter { $0 != Self.ignoreLabel }.count }

    /// Upstream's fixed-length layout: ids right-padded with 0, labels with -100, to `length`.
    public func padded(to length: Int) -> (ids: [Int], labels: [Int]) {
        let n = min(length, ids.count)
        return (Array(ids.prefix(n)) + Array(repeating: Self.padId, count: length - n),
                Array(labels.prefix(n)) + Array(repeating: Self.ignoreLabel, count: length - n))
    }
}

/// A source of ready samples by index; the trainer asks for sample `index` of `epoch` (augmented
/// samples may differ between epochs, deterministically).
public protocol TrainingSampleSource {
    var count: Int { get }
    func sample(_ index: Int, epoch: Int) throws -> TrainingSample
    /// Token count of every sample when known without building it (length bucketing uses it);
    /// nil when unknown.
    var lengths: [Int]? { get }
}

extension TrainingSampleSource {
    public var lengths: [Int]? { nil }
}

/// Samples already built (tests, parity fixtures).
public struct PreparedSamples: TrainingSampleSource {
    public var samples: [TrainingSample]
    public init(_ samples: [TrainingSample]) { self.samples = samples }
    public var count: Int { samples.count }
    public func sample(_ index: Int, epoch: Int) throws -> TrainingSample { samples[index] }
    public var lengths: [Int]? { samples.map(\.ids.count) }
}
