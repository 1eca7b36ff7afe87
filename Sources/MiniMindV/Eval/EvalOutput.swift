// The evaluator's files: predictions.jsonl (one line per sample), metrics.json and report.html.
import Foundation

public enum EvalOutput {
    /// Writes the three files into `folder` (created when missing), each atomically.
    /// `source`: what was evaluated (model and data paths), shown in the report and metrics.json.
    public static func write(_ result: EvalResult, source: [(key: String, value: String)], maxNewTokens: Int, to folder: URL) throws {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw EvalError.io(path: folder.path, reason: "cannot create the output folder: \(error.localizedDescription)")
        }
        try save(predictions(result), to: folder.appendingPathComponent("predictions.jsonl"))
        try save(metrics(result, source: source, maxNewTokens: maxNewTokens).pythonJSON + "\n", to: folder.appendingPathComponent("metrics.json"))
        try save(EvalReport.html(result, source: source), to: folder.appendingPathComponent("report.html"))
    }

    static func save(_ text: String, to url: URL) throws {
        do { try Data(text.utf8).write(to: url, options: .atomic) } catch {
            throw EvalError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// `{"id","question","references","prediction","correct"?,"type"}` per sample, then the
    /// ablations' answers as `prediction_blank` / `prediction_shuffled`.
    public static func predictions(_ r: EvalResult) -> String {
        var out = ""
        for (i, s) in r.samples.enumerated() {
            var pairs: [(key: String, value: OrderedJSON)] = [
                ("id", .string(s.id)), ("question", .string(s.question)),
                ("references", .array(s.references.map { .string($0) })),
                ("prediction", .string(r.runs[0].predictions[i])),
            ]
            if let correct = r.runs[0].correct { pairs.append(("correct", .bool(correct[i]))) }
            pairs.append(("type", .string(s.type)))
            for run in r.runs.dropFirst() { pairs.append(("prediction_\(run.name)", .string(run.predictions[i]))) }
            out += OrderedJSON.object(pairs).pythonJSON + "\n"
        }
        return out
    }

    /// The real run's metrics at the top level, `types` per type, each ablation under its name.
    public static func metrics(_ r: EvalResult, source: [(key: String, value: String)], maxNewTokens: Int) -> OrderedJSON {
        func block(_ run: EvalRun) -> [(key: String, value: OrderedJSON)] {
            guard case let .object(pairs) = run.scores.json else { return [] }
            return pairs + [("types", .object(run.typeScores.map { ($0.type, $0.scores.json) }))]
        }
        var pairs: [(key: String, value: OrderedJSON)] = [("task", .string(r.task.rawValue))]
        pairs += block(r.runs[0])
        for run in r.runs.dropFirst() { pairs.append((run.name, .object(block(run)))) }
        pairs.append(("skipped", .int(r.skipped.count)))
        pairs.append(("generation", .object([("batch", .int(r.batchSize)), ("max_new_tokens", .int(maxNewTokens)),
                                             ("greedy", .bool(true)), ("seconds", .double(r.runs[0].seconds)),
                                             ("samples_per_second", .double(r.samplesPerSecond))])))
        pairs.append(("source", .object(source.map { ($0.key, .string($0.value)) })))
        return .object(pairs)
    }
}
