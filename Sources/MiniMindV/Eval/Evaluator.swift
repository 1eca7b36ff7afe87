// Runs evaluation samples through the Generator's batched greedy path, scores the answers, and
// repeats with the vision-reliance ablations (blank mean-colour image; images shuffled between
// samples); optionally measures teacher-forced perplexity on the samples' rows.
import Foundation

/// One pass over the samples: with their own images ("real") or an ablation.
public struct EvalRun: Sendable {
    public var name: String
    /// One per sample, whitespace-trimmed.
    public var predictions: [String]
    /// Exact match per sample (task vqa), else nil.
    public var correct: [Bool]?
    public var scores: EvalScores
    /// Per `type`, sorted by type name.
    public var typeScores: [(type: String, scores: EvalScores)]
    public var seconds: Double
}

public struct EvalResult: Sendable {
    public var task: EvalTask
    public var samples: [EvalSample]
    /// The real run first, then the ablations in the order asked.
    public var runs: [EvalRun]
    /// Samples left out (unreadable image, prompt too long, …), one message each.
    public var skipped: [String]
    public var batchSize: Int
    /// Generation throughput of the real run.
    public var samplesPerSecond: Double { runs.first.map { Double(samples.count) / max($0.seconds, 1e-9) } ?? 0 }
}

/// Runs `minimind-v eval`: generates an answer for every sample (batched greedy decoding), scores
/// it against the references (exact match and VQA accuracy, or BLEU / CIDEr-D / ROUGE-L), optionally
/// with the images blanked or shuffled and with teacher-forced perplexity (Docs/Evaluation.md).
///
///     let data = try JSONLConversationDataset(url: URL(fileURLWithPath: "test.jsonl"),
///                                             imageFolder: URL(fileURLWithPath: "images"))
///     let (samples, _) = EvalSampleLoader.load(data, rolesByPosition: false,
///                                              imageMarker: bundle.model.config.imageMarker)
///     let result = try Evaluator(generator: Generator(bundle: bundle))
///         .run(samples, dataset: data, options: EvalOptions(task: .vqa, ablations: [.blank]))
///     print(result.runs[0].scores.accuracy ?? 0)
public final class Evaluator {
    public let generator: Generator
    /// Called with a message for every sample left out (default: stderr).
    public var warn: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    /// Called after every batch: stage ("real", "blank", "shuffled", "perplexity"), done, total.
    public var progress: ((String, Int, Int) -> Void)?

    public init(generator: Generator) { self.generator = generator }

    var model: MiniMindVLM { generator.model }

    /// Evaluates `samples` (from `EvalSampleLoader`); `dataset` gives the rows for perplexity.
    public func run(_ input: [EvalSample], dataset: ConversationDataset?, options: EvalOptions) throws -> EvalResult {
        try options.validate()
        var skipped: [String] = []
        func skip(_ s: EvalSample, _ why: String) {
            skipped.append("\(s.id): \(why)")
            warn("warning: skipping \(s.id): \(why)")
        }
        // Prompts: tokenised once; a prompt that leaves no room for an answer or whose image runs do
        // not match its images is left out here rather than failing its whole batch later.
        let limit = model.config.language.maxPositionEmbeddings
        var samples: [EvalSample] = [], ids: [[Int]] = []
        for s in input {
            do {
                let tokens = try generator.assembler.assemble(s.prompt, images: s.images).ids
                guard !tokens.isEmpty, tokens.count + 1 < limit else {
                    skip(s, "the prompt is \(tokens.count) tokens; the model holds \(limit)")
                    continue
                }
                samples.append(s)
                ids.append(tokens)
            } catch {
                skip(s, "\(error)")
            }
        }
        // Images: each distinct one decoded once to check it (and for the blank image's colour).
        let images = EvalImages()
        var usable: [Int] = []
        for (i, s) in samples.enumerated() {
            do {
                for image in s.images { try images.check(image) }
                usable.append(i)
            } catch {
                skip(s, "\(error)")
            }
        }
        samples = usable.map { samples[$0] }
        ids = usable.map { ids[$0] }
        guard !samples.isEmpty else { throw EvalError.noSamples("no usable sample (\(skipped.count) left out)") }
        let task = options.task == .auto ? EvalTask.detect(samples) : options.task

        var variants: [(String, ImageSource)] = [("real", .own)]
        for a in options.ablations {
            switch a {
            case .blank: variants.append((a.runName, .blank(try images.blank(size: model.config.vision.imageSize))))
            case .shuffle:
                variants.append((a.runName, .permuted(EvalImages.permutation(samples.map(\.images), seed: options.shuffleSeed))))
            }
        }
        var runs: [EvalRun] = []
        for (name, source) in variants {
            let start = monotonicSeconds()
            let predictions = try generate(samples: samples, ids: ids, source: source, options: options, stage: name)
            runs.append(score(name: name, task: task, samples: samples, predictions: predictions, seconds: monotonicSeconds() - start))
        }
        if options.perplexity, let dataset {
            try addPerplexity(&runs, variants: variants, samples: samples, dataset: dataset, images: images, batchSize: options.batchSize)
        }
        return EvalResult(task: task, samples: samples, runs: runs, skipped: skipped, batchSize: options.batchSize)
    }

    /// Where a sample's images come from in a run.
    enum ImageSource {
        case own
        case blank(RGBImage)
        /// Sample i takes the images of sample permutation[i].
        case permuted([Int])

        func images(of i: Int, _ samples: [EvalSample]) -> [PromptImage] {
            switch self {
            case .own: return samples[i].images
            case .blank: return samples[i].images
            case .permuted(let p): return samples[p[i]].images
            }
        }
    }

    /// Greedy answers, in batches of prompts of similar length (sorted by length, then index).
    func generate(samples: [EvalSample], ids: [[Int]], source: ImageSource, options: EvalOptions,
                  stage: String) throws -> [String] {
        let order = ids.indices.sorted { (ids[$0].count, $0) < (ids[$1].count, $1) }
        var predictions = [String](repeating: "", count: samples.count)
        let sampling = SamplingOptions(greedy: true, maxNewTokens: options.maxNewTokens)
        var done = 0
        for start in stride(from: 0, to: order.count, by: options.batchSize) {
            let batch = Array(order[start..<min(start + options.batchSize, order.count)])
            let prompts = batch.map { i -> GenerationPrompt in
                if case .blank(let b) = source {
                    return GenerationPrompt(ids: ids[i], images: [PromptImage](repeating: .image(b), count: samples[i].images.count))
                }
                return GenerationPrompt(ids: ids[i], images: source.images(of: i, samples))
            }
            let results = try generator.generateBatch(prompts, options: sampling)
            for (i, r) in zip(batch, results) { predictions[i] = r.text.trimmingCharacters(in: .whitespacesAndNewlines) }
            done += batch.count
            progress?(stage, done, samples.count)
        }
        return predictions
    }

    func score(name: String, task: EvalTask, samples: [EvalSample], predictions: [String], seconds: Double) -> EvalRun {
        let references = samples.map(\.references)
        let correct = task == .caption ? nil
            : zip(predictions, references).map { VQAAccuracy.exactMatch(prediction: $0, references: $1) }
        var groups: [String: [Int]] = [:]
        for (i, s) in samples.enumerated() { groups[s.type, default: []].append(i) }
        let typeScores = groups.keys.sorted().map { t in
            (t, EvalScores.score(task: task, predictions: groups[t]!.map { predictions[$0] }, references: groups[t]!.map { references[$0] }))
        }
        return EvalRun(name: name, predictions: predictions, correct: correct,
                       scores: EvalScores.score(task: task, predictions: predictions, references: references),
                       typeScores: typeScores, seconds: seconds)
    }

    /// Perplexity of each run over the rows of its samples (every assistant turn of a row counts),
    /// overall and per type; images replaced as in the run (the shuffle permutes rows' images).
    func addPerplexity(_ runs: inout [EvalRun], variants: [(String, ImageSource)], samples: [EvalSample],
                       dataset: ConversationDataset, images: EvalImages, batchSize: Int) throws {
        let builder = SampleBuilder(tokenizer: generator.tokenizer, template: try chatTemplate(), config: model.config,
                                    maxSeqLen: model.config.language.maxPositionEmbeddings,
                                    rolesByPosition: nil, augmentation: nil)
        var rows: [(type: String, row: ConversationRow)] = [], seen = Set<Int>()
        for s in samples where seen.insert(s.rowIndex).inserted {
            if let row = try? dataset.row(s.rowIndex) { rows.append((s.type, row)) }
        }
        let extractor = VisionFeatureExtractor(encoder: model.vision, cache: nil)
        let rowPermutation = EvalImages.permutation(rows.map(\.row.images), seed: 0)
        for (k, (name, source)) in variants.enumerated() {
            var blankImage: PromptImage?
            if case .blank(let b) = source { blankImage = .encoded(try b.pngData()) }
            var groups: [String: [TrainingSample]] = [:]
            var count = 0
            for (r, entry) in rows.enumerated() {
                var row = entry.row
                if let blankImage { row.images = [PromptImage](repeating: blankImage, count: row.images.count) }
                if case .permuted = source { row.images = rows[rowPermutation[r]].row.images }
                if let s = try? builder.build(row, index: r) {
                    groups[entry.type, default: []].append(s)
                    count += 1
                }
            }
            guard count > 0 else { continue }
            // Per type, then the overall value from the summed NLL and token counts.
            var total = PerplexityResult(totalNLL: 0, tokens: 0), done = 0
            for g in runs[k].typeScores.indices {
                guard let group = groups[runs[k].typeScores[g].type] else { continue }
                let p = try Perplexity.measure(model: model, samples: group, features: extractor, batchSize: batchSize)
                runs[k].typeScores[g].scores.perplexity = p.value
                total.totalNLL += p.totalNLL
                total.tokens += p.tokens
                done += group.count
                progress?("perplexity (\(name))", done, count)
            }
            runs[k].scores.perplexity = total.value
        }
    }

    func chatTemplate() throws -> ChatTemplate {
        guard let template = generator.template else { throw PromptError.noChatTemplate }
        return template
    }
}
