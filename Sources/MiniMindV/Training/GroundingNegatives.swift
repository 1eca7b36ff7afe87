import Foundation

/// Pictures known to contradict an answer, found in the training data (the `sameQuestion` grounding
/// term, Docs/Training.md "When the model goes wrong"): two samples ask the same question when every
/// token outside their answers, up to the last answer token, is equal (the system and user text, the
/// image placeholders, the assistant header); if their answers differ, each one's picture is a
/// negative for the other. A picture rolled in from another sample of the batch (the `mismatch` term)
/// may fit the answer as well ("two" shapes in both); one from the same question with another answer
/// cannot, unless the data is wrong. Meant for VQA rows of one question each; in multi-turn rows every
/// question must match.
public struct GroundingNegatives {
    /// A sample's question tokens and answer tokens.
    public struct Split: Hashable, Sendable {
        public let question: [Int]
        public let answer: [Int]
    }

    /// The index keeps questions, answers and sample indices only; a negative's pictures are read
    /// from `samples` when it is chosen, so the index holds no image data.
    private let samples: TrainingSampleSource
    private var byQuestion: [[Int]: [(answer: [Int], index: Int)]] = [:]

    /// Reads every sample of `samples` once (epoch 0); samples without an image or an answer are left out.
    public init(samples: TrainingSampleSource) throws {
        self.samples = samples
        for i in 0..<samples.count { index(try samples.sample(i, epoch: 0), at: i) }
    }

    public init(samples: [TrainingSample]) {
        self.samples = PreparedSamples(samples)
        for (i, s) in samples.enumerated() { index(s, at: i) }
    }

    private mutating func index(_ s: TrainingSample, at i: Int) {
        guard !s.images.isEmpty, let split = Self.split(ids: s.ids, labels: s.labels) else { return }
        byQuestion[split.question, default: []].append((split.answer, i))
    }

    /// Samples that have at least one negative.
    public var samplesWithNegatives: Int {
        byQuestion.values.reduce(0) { sum, entries in
            sum + entries.filter { e in entries.contains { $0.answer != e.answer } }.count
        }
    }

    /// The question and answer of a built sample: the answer is its counted labels (positions ≥ 1, as
    /// the shifted loss counts them), the question every other token before the last answer token.
    public static func split(ids: [Int], labels: [Int]) -> Split? {
        guard let last = labels.indices.dropFirst().last(where: { labels[$0] != TrainingSample.ignoreLabel }) else { return nil }
        let question = (0..<last).filter { $0 == 0 || labels[$0] == TrainingSample.ignoreLabel }.map { ids[$0] }
        let answer = (1...last).filter { labels[$0] != TrainingSample.ignoreLabel }.map { labels[$0] }
        return Split(question: question, answer: answer)
    }

    /// The same split of sample `b` of a batch (whose targets are the labels shifted by one).
    public static func split(_ batch: TrainingBatch, sample b: Int) -> Split? {
        let base = b * batch.length
        // targets[t] = labels[t + 1], so label position j is counted when targets[j − 1] is.
        guard let lastTarget = (0..<batch.length).last(where: { batch.targets[base + $0] != TrainingSample.ignoreLabel }) else { return nil }
        let last = lastTarget + 1
        let question = (0..<last).filter { $0 == 0 || batch.targets[base + $0 - 1] == TrainingSample.ignoreLabel }.map { batch.ids[base + $0] }
        let answer = (0..<last).filter { batch.targets[base + $0] != TrainingSample.ignoreLabel }.map { batch.targets[base + $0] }
        return Split(question: question, answer: answer)
    }

    /// The pictures (and row name) of a sample that asks `split.question` and answers otherwise;
    /// `pick` chooses among them (nil: no such sample).
    public func negative(for split: Split, pick: UInt64) throws -> (images: [PromptImage], name: String)? {
        guard let entries = byQuestion[split.question] else { return nil }
        let others = entries.filter { $0.answer != split.answer }
        guard !others.isEmpty else { return nil }
        let s = try samples.sample(others[Int(pick % UInt64(others.count))].index, epoch: 0)
        return (s.images, s.name)
    }
}
