// The demo's files read back through the library's data path (`JSONLConversationDataset`), and
// the shapes each stage needs: text-only rows, one contrastive sample per image, evaluation samples.
import Foundation
import MiniMindV

enum DemoData {
    /// Every row of a file the demo wrote; a row that cannot be read back is the demo's own bug.
    static func rows(_ url: URL, images: URL) throws -> [ConversationRow] {
        let dataset = try JSONLConversationDataset(url: url, imageFolder: images)
        var rows: [ConversationRow] = [], bad = 0
        for k in 0..<dataset.count {
            if let row = try? dataset.row(k) { rows.append(row) } else { bad += 1 }
        }
        guard bad == 0 else { throw DemoError.skippedRows(file: url.path, count: bad) }
        return rows
    }

    static func withoutImageMarker(_ text: String) -> String { text.replacingOccurrences(of: "<image>\n", with: "") }

    /// The row as text alone: image markers and images dropped (the language-model stage).
    static func textOnly(_ row: ConversationRow) -> ConversationRow {
        var row = row
        row.images = []
        row.messages = row.messages.map { m in
            var m = m
            m.content = m.content.map(withoutImageMarker)
            return m
        }
        return row
    }

    /// The file name of a row's image (rows of the demo have exactly one).
    static func imageName(_ row: ConversationRow) -> String? {
        guard row.images.count == 1, case .file(let url) = row.images[0] else { return nil }
        return url.lastPathComponent
    }

    /// One contrastive sample per distinct image of `rows`, named by its file name; no text tokens
    /// (the objective reads the image and its cells only).
    static func contrastiveSamples(_ rows: [ConversationRow], scenes: [String: DemoScene]) throws -> [TrainingSample] {
        var seen = Set<String>(), out: [TrainingSample] = []
        for row in rows {
            guard let name = imageName(row) else { throw DemoError.io(path: row.name, reason: "a demo row without its one image") }
            guard seen.insert(name).inserted else { continue }
            out.append(TrainingSample(ids: [0, 0], labels: [TrainingSample.ignoreLabel, TrainingSample.ignoreLabel],
                                      images: row.images, name: name))
        }
        return out
    }

    /// The class of each cell of an image, from its scene.
    static func cells(of name: String, scenes: [String: DemoScene]) throws -> [Int] {
        guard let scene = scenes[name] else { throw DemoError.io(path: name, reason: "no scene for this image") }
        return DemoCell.labels(scene)
    }
}

/// The demo's evaluation through the Eval module: the same samples, `Evaluator` and batched greedy
/// `Generator` path as `minimind-v eval --data DIR/data/test.jsonl --images DIR/data/images`.
enum DemoEvaluation {
    /// Every test question (≤ 4 answer tokens, exact match per `type`), with the given ablations.
    static func questions(_ generator: Generator, files: DemoDataFiles, ablations: [EvalAblation],
                          progress: StageProgress?) throws -> EvalResult {
        try run(generator, file: files.test, images: files.images,
                options: EvalOptions(task: .vqa, maxNewTokens: 4, batchSize: 64, ablations: ablations, perplexity: false),
                progress: progress)
    }

    /// "Describe the image." for every test image (≤ `DemoLanguage.captionTokens` tokens).
    static func captions(_ generator: Generator, files: DemoDataFiles, progress: StageProgress?) throws -> EvalResult {
        try run(generator, file: files.testCaptions, images: files.images,
                options: EvalOptions(task: .caption, maxNewTokens: DemoLanguage.captionTokens, batchSize: 64, perplexity: false),
                progress: progress)
    }

    static func run(_ generator: Generator, file: URL, images: URL, options: EvalOptions, progress: StageProgress?) throws -> EvalResult {
        let dataset = try JSONLConversationDataset(url: file, imageFolder: images)
        let (samples, bad) = EvalSampleLoader.load(dataset, rolesByPosition: true, imageMarker: generator.model.config.imageMarker)
        guard bad == 0 else { throw DemoError.skippedRows(file: file.path, count: bad) }
        let evaluator = Evaluator(generator: generator)
        let prefix = options.task == .caption ? "captions" : "questions"
        evaluator.progress = { stage, done, total in progress?.step("\(prefix) (\(stage))", done: done, total: total, unit: "samples") }
        let result = try evaluator.run(samples, dataset: dataset, options: options)
        progress?.finishStep()
        return result
    }
}
