// `minimind-v eval`: answers a dataset's questions greedily in batches and scores them (accuracy,
// VQA accuracy, BLEU, CIDEr-D, ROUGE-L, perplexity), with vision-reliance ablations; writes
// predictions.jsonl, metrics.json and report.html (Docs/Evaluation.md).
import ArgumentParser
import Foundation
import MiniMindV

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on a dataset: answer accuracy or caption BLEU / CIDEr-D / ROUGE-L, perplexity, vision reliance.",
        discussion: """
            Every assistant turn of the data is a sample: its prompt is the conversation before it, its reference the turn \
            (or the row's `answers` list). Greedy decoding, batched; samples are grouped by a `type`/`category` field. \
            --ablate blank,shuffle repeats the evaluation with a blank mean-colour image and with images shuffled between \
            samples. Writes OUT/predictions.jsonl, OUT/metrics.json and OUT/report.html.
            """)

    @OptionGroup var modelOptions: ModelLoadingOptions

    @Option(name: .long, help: "Data: a .parquet file (conversations + image_bytes) or a .jsonl file (with --images).")
    var data: String

    @Option(name: .long, help: "Image folder for .jsonl data.")
    var images: String?

    @Option(name: .long, help: "caption, vqa or auto (vqa when the median reference has at most 3 words).")
    var task: String = EvalTask.auto.rawValue

    @Option(name: .customLong("max-samples"), help: "Evaluate only the first N samples.")
    var maxSamples: Int?

    @Option(name: .customLong("max-new-tokens"), help: "Most tokens per answer (\(EvalOptions.maxNewTokensRange.lowerBound)…\(EvalOptions.maxNewTokensRange.upperBound)).")
    var maxNewTokens = 32

    @Option(name: .long, help: "Prompts decoded together (\(EvalOptions.batchSizeRange.lowerBound)…\(EvalOptions.batchSizeRange.upperBound)).")
    var batch = 16

    @Option(name: .long, help: "Ablations, comma-separated: blank, shuffle.")
    var ablate: String = ""

    @Flag(name: .customLong("no-perplexity"), help: "Skip the teacher-forced perplexity.")
    var noPerplexity = false

    @Option(name: .long, help: "Output folder.")
    var out: String = "eval-out"

    func parsedTask() throws -> EvalTask {
        guard let t = EvalTask(rawValue: task) else {
            throw EvalError.invalidOption(name: "task", value: task, allowed: EvalTask.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return t
    }

    func parsedAblations() throws -> [EvalAblation] {
        var out: [EvalAblation] = []
        for name in ablate.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let a = EvalAblation(rawValue: name) else {
                throw EvalError.invalidOption(name: "ablate", value: name, allowed: "blank, shuffle")
            }
            if !out.contains(a) { out.append(a) }
        }
        return out
    }

    var options: EvalOptions {
        get throws {
            EvalOptions(task: try parsedTask(), maxNewTokens: maxNewTokens, batchSize: batch, ablations: try parsedAblations(),
                        perplexity: !noPerplexity)
        }
    }

    func validate() throws {
        if let maxSamples, maxSamples < 1 {
            throw EvalError.invalidOption(name: "max-samples", value: "\(maxSamples)", allowed: "1 or more")
        }
        try options.validate()
    }

    func run() throws {
        let options = try self.options
        let path = { (p: String) in URL(fileURLWithPath: (p as NSString).expandingTildeInPath) }
        let bundle: VLMBundle
        let dataset: ConversationDataset
        do {
            bundle = try modelOptions.load()
            dataset = try openConversationDataset(path(data), imageFolder: images.map(path))
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let (samples, badRows) = EvalSampleLoader.load(dataset, rolesByPosition: bundle.template.kind == .minimind2,
                                                       imageMarker: bundle.model.config.imageMarker, maxSamples: maxSamples,
                                                       warn: printError)
        let evaluator = Evaluator(generator: Generator(bundle: bundle))
        let progress = StageProgress.stderr()
        evaluator.progress = { progress.step($0, done: $1, total: $2, unit: "samples") }
        let result: EvalResult
        do {
            result = try evaluator.run(samples, dataset: dataset, options: options)
            progress.finishStep()
            let source = [(key: "model", value: modelOptions.model ?? modelOptions.weights ?? ""), (key: "data", value: data)]
            try EvalOutput.write(result, source: source, maxNewTokens: maxNewTokens, to: path(out))
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        if badRows > 0 { printError("\(badRows) row(s) could not be read") }
        print(summary(result))
        print("wrote \(out)/predictions.jsonl, metrics.json, report.html")
    }

    func summary(_ r: EvalResult) -> String {
        var lines = ["task \(r.task.rawValue), \(r.samples.count) samples (\(r.skipped.count) left out), "
                     + String(format: "%.1f samples/s at batch %d", r.samplesPerSecond, r.batchSize)]
        for run in r.runs {
            guard case let .object(pairs) = run.scores.json else { continue }
            let metrics = pairs.filter { $0.key != "samples" }.map { pair -> String in
                if case let .double(v) = pair.value { return "\(pair.key) \(String(format: "%.4f", v))" }
                return pair.key
            }
            lines.append("\(run.name): " + metrics.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}
