import Foundation

/// Turns conversation rows into `TrainingSample`s exactly as upstream's dataset does (Docs/Model.md, "Training samples"):
/// roles (by position for MiniMind2-V), optional augmentation, then the prompt assembly every caller
/// uses (`PromptAssembler`: `<image>` → placeholder run, the chat template without generation
/// prompt, tokenisation, one placeholder run per image), truncation to `maxSeqLen`, and labels on
/// assistant answers found by token-id subsequences.
public struct SampleBuilder {
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let maxSeqLen: Int
    /// Markers, placeholder runs and the template, as generation assembles them.
    public let assembler: PromptAssembler
    /// MiniMind2-V ignores the data's roles: even turns are user, odd turns assistant.
    public let rolesByPosition: Bool
    public let augmentation: ChatAugmentation?
    public let seed: UInt64
    /// Per-token loss weights written into each sample (nil: none, every counted token weighs 1).
    public let lossWeights: LossWeights?

    let answerStart: [Int]
    let answerEnd: [Int]
    let emptyThink: [Int]

    public init(tokenizer: Tokenizer, template: ChatTemplate, config: VLMConfig, maxSeqLen: Int,
                rolesByPosition: Bool? = nil, augmentation: ChatAugmentation? = nil, seed: UInt64 = 42,
                lossWeights: LossWeights? = nil) {
        precondition(maxSeqLen > 1, "SampleBuilder: maxSeqLen must be > 1, got \(maxSeqLen)")
        self.tokenizer = tokenizer
        self.template = template
        self.maxSeqLen = maxSeqLen
        assembler = PromptAssembler(tokenizer: tokenizer, template: template, config: config)
        self.rolesByPosition = rolesByPosition ?? (template.kind == .minimind2)
        self.augmentation = augmentation
        self.seed = seed
        answerStart = tokenizer.encode("<|im_start|>assistant\n")
        answerEnd = tokenizer.encode("<|im_end|>\n")
        emptyThink = tokenizer.encode(ChatAugmentation.emptyThinkBlock)
        self.lossWeights = lossWeights
    }

    /// The sample of `row` for `epoch` (augmentation draws depend on seed, epoch and row only).
    public func build(_ row: ConversationRow, index: Int = 0, epoch: Int = 0) throws -> TrainingSample {
        func bad(_ reason: String) -> TrainingDataError { .malformedRow(row: row.name, reason: reason) }
        var messages = row.messages
        if rolesByPosition {
            messages = messages.enumerated().map { i, m in
                ChatMessage(role: i % 2 == 0 ? "user" : "assistant", content: m.content, reasoningContent: m.reasoningContent)
            }
        }
        guard messages.contains(where: { $0.role == "assistant" }) else { throw bad("no assistant turn") }
        if let unknown = messages.first(where: { !["system", "user", "assistant", "tool"].contains($0.role) }) {
            throw bad("unknown role '\(unknown.role)'")
        }
        var g = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xBF58_476D_1CE4_E5B9)
        if let augmentation { messages = augmentation.augment(messages, generator: &g) }
        var text: String
        do { text = try assembler.render(messages, images: row.images.count, options: ChatTemplateOptions(addGenerationPrompt: false)) }
        catch let error as PromptError { throw bad("\(error)") } catch { throw bad("chat template: \(error)") }
        if let augmentation { text = augmentation.postProcess(text, generator: &g) }
        let all: [Int]
        do { all = try assembler.tokenize(text, images: row.images).ids } catch { throw bad("\(error)") }
        let ids = Array(all.prefix(maxSeqLen))
        let labels = Self.labels(ids: ids, start: answerStart, end: answerEnd, maxLength: maxSeqLen)
        var sample = TrainingSample(ids: ids, labels: labels, images: row.images, name: row.name)
        if let lossWeights {
            sample.lossWeights = Self.weights(ids: ids, labels: labels, template: [answerEnd, emptyThink], rule: lossWeights,
                                              source: row.attributes["source"]?.stringValue)
        }
        guard sample.countedLabels > 0 else {
            throw bad("too long: no assistant token within max_seq_len \(maxSeqLen) (the sample has \(all.count) tokens)")
        }
        return sample
    }

    /// The weight of every label position under `rule`: 0 where nothing counts, `template` on the
    /// counted tokens of any `template` sequence (end marker, empty think block), `answer` on the
    /// other counted tokens, all times the source's weight.
    public static func weights(ids: [Int], labels: [Int], template: [[Int]], rule: LossWeights, source: String?) -> [Float] {
        let sourceWeight = source.flatMap { rule.sources[$0] } ?? 1
        var w = labels.map { $0 == TrainingSample.ignoreLabel ? 0 : Float(rule.answer * sourceWeight) }
        for pattern in template where !pattern.isEmpty && pattern.count <= ids.count {
            for i in 0...(ids.count - pattern.count) where ids[i..<(i + pattern.count)].elementsEqual(pattern) {
                for j in i..<(i + pattern.count) where labels[j] != TrainingSample.ignoreLabel {
                    w[j] = Float(rule.template * sourceWeight)
                }
            }
        }
        return w
    }

    /// Upstream's label rule: for each `start` subsequence, label every id from just after it
    /// through the next `end` subsequence inclusive (to the end of the ids when none follows).
    public static func labels(ids: [Int], start: [Int], end: [Int], maxLength: Int) -> [Int] {
        var labels = [Int](repeating: TrainingSample.ignoreLabel, count: ids.count)
        func matches(_ pattern: [Int], at i: Int) -> Bool {
            !pattern.isEmpty && i + pattern.count <= ids.count && ids[i..<(i + pattern.count)].elementsEqual(pattern)
        }
        var i = 0
        while i < ids.count {
            guard matches(start, at: i) else { i += 1; continue }
            let first = i + start.count
            var stop = first
            while stop < ids.count && !matches(end, at: stop) { stop += 1 }
            for j in first..<min(stop + end.count, maxLength, ids.count) { labels[j] = ids[j] }
            i = stop < ids.count ? stop + end.count : ids.count
        }
        return labels
    }
}

/// Conversation rows → samples on demand, checked once up front: `validate()` builds every row,
/// counts malformed ones (or stops at the first when strict) and keeps the usable indices.
public final class ConversationSampleSource: TrainingSampleSource {
    public let dataset: ConversationDataset
    public let builder: SampleBuilder
    /// Dataset indices of the usable rows, in dataset order.
    public private(set) var usable: [Int]
    public private(set) var skipped: [(row: String, reason: String)] = []
    /// Token count of each dataset row as `validate()` built it (epoch 0).
    private var builtLengths: [Int: Int] = [:]

    public init(dataset: ConversationDataset, builder: SampleBuilder, maxSamples: Int? = nil) {
        self.dataset = dataset
        self.builder = builder
        usable = Array(0..<min(dataset.count, maxSamples ?? Int.max))
    }

    /// Builds every row once. Malformed rows are reported through `warn` and dropped; with
    /// `strict` the first one throws `TrainingDataError.strictStop`.
    public func validate(strict: Bool, warn: (String) -> Void = { _ in }) throws {
        var kept: [Int] = []
        for index in usable {
            do {
                builtLengths[index] = try builder.build(try dataset.row(index), index: index, epoch: 0).ids.count
                kept.append(index)
            } catch let TrainingDataError.malformedRow(row, reason) {
                if strict { throw TrainingDataError.strictStop(row: row, reason: reason) }
                skipped.append((row, reason))
                warn("warning: skipping \(row): \(reason)")
            }
        }
        usable = kept
    }

    /// Drops a row found unusable later (e.g. its image fails to decode during feature extraction).
    public func drop(datasetIndex: Int, row: String, reason: String) {
        usable.removeAll { $0 == datasetIndex }
        skipped.append((row, reason))
    }

    public var count: Int { usable.count }

    /// Known after `validate()` (augmentations may change a row's length a little in later epochs;
    /// bucketing only needs it roughly).
    public var lengths: [Int]? {
        let known = usable.compactMap { builtLengths[$0] }
        return known.count == usable.count ? known : nil
    }

    public func sample(_ index: Int, epoch: Int) throws -> TrainingSample {
        let datasetIndex = usable[index]
        return try builder.build(try dataset.row(datasetIndex), index: datasetIndex, epoch: epoch)
    }
}
