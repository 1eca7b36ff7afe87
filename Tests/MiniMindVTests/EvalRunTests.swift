import XCTest
@testable import MiniMindV

/// The evaluator: samples from conversation rows, the batched greedy answers equal one-by-one
/// generation, scores are the metrics' on those answers, ablations, options, output files.
final class EvalRunTests: XCTestCase {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eval-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func png(_ seed: Int) throws -> PromptImage { .encoded(try GenerationTestSupport.picture(seed: seed).pngData()) }

    func testSamplesFromJSONLRows() throws {
        let dir = try folder()
        try GenerationTestSupport.picture(seed: 1).pngData().write(to: dir.appendingPathComponent("a.png"))
        let lines = [
            #"{"conversations":[{"role":"user","content":"<image>\nwhat colour?"},{"role":"assistant","content":"red"}],"image":"a.png","type":"colour","id":"q1"}"#,
            #"{"conversations":[{"role":"user","content":"<image>\nhow many?"},{"role":"assistant","content":"two"},{"role":"user","content":"and now?"},{"role":"assistant","content":"three"}],"image":"a.png","category":"count"}"#,
            #"{"conversations":[{"role":"user","content":"<image>\nwhat is it?"},{"role":"assistant","content":"dog"}],"image":"a.png","answers":["dog","dog","puppy"]}"#,
            #"{"conversations": not json"#,
            #"{"conversations":[{"role":"user","content":"hello"}]}"#,
        ]
        let file = dir.appendingPathComponent("data.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        var warnings: [String] = []
        let (samples, skipped) = EvalSampleLoader.load(try openConversationDataset(file, imageFolder: dir), rolesByPosition: false,
                                                       imageMarker: "<image>", warn: { warnings.append($0) })
        XCTAssertEqual(skipped, 2)
        XCTAssertEqual(warnings.count, 2)
        XCTAssertEqual(samples.map(\.id), ["q1", "data.jsonl line 2#1", "data.jsonl line 2#2", "data.jsonl line 3"])
        XCTAssertEqual(samples.map(\.type), ["colour", "count", "count", "all"])
        XCTAssertEqual(samples.map(\.references), [["red"], ["two"], ["three"], ["dog", "dog", "puppy"]])
        XCTAssertEqual(samples.map(\.question), ["what colour?", "how many?", "and now?", "what is it?"])
        XCTAssertEqual(samples[2].prompt.map(\.role), ["user", "assistant", "user"])
        XCTAssertEqual(samples.map(\.images.count), [1, 1, 1, 1])
        XCTAssertEqual(EvalTask.detect(samples), .vqa)
        let (first, _) = EvalSampleLoader.load(try openConversationDataset(file, imageFolder: dir), rolesByPosition: false,
                                               imageMarker: "<image>", maxSamples: 2)
        XCTAssertEqual(first.count, 2)
    }

    /// Rows of the tiny random model: questions with images and types.
    func tinyData() throws -> InMemoryConversationDataset {
        let questions = ["what is in this image", "describe the picture please", "the cat sat on the mat", "a picture of a dog"]
        var rows: [ConversationRow] = []
        for i in 0..<7 {
            rows.append(ConversationRow(name: "row \(i)", messages: [.user("<image>\n" + questions[i % 4]), .assistant(i % 2 == 0 ? "the cat" : "a dog in the park")],
                                        images: [try png(i % 5)], attributes: ["type": .string(i % 2 == 0 ? "even" : "odd")]))
        }
        return InMemoryConversationDataset(rows)
    }

    func testBatchedAnswersEqualOneByOneGenerationAndScoresAreTheMetrics() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let data = try tinyData()
        let (samples, _) = EvalSampleLoader.load(data, rolesByPosition: false, imageMarker: "<image>")
        let evaluator = Evaluator(generator: generator)
        var stages: [String] = []
        evaluator.progress = { stage, _, _ in if stages.last != stage { stages.append(stage) } }
        let options = EvalOptions(task: .vqa, maxNewTokens: 6, batchSize: 3, ablations: [.blank, .shuffle])
        let result = try evaluator.run(samples, dataset: data, options: options)
        XCTAssertEqual(result.runs.map(\.name), ["real", "blank", "shuffled"])
        XCTAssertEqual(stages, ["real", "blank", "shuffled", "perplexity (real)", "perplexity (blank)", "perplexity (shuffled)"])
        for (i, s) in samples.enumerated() {
            guard case .encoded(let bytes) = s.images[0] else { return XCTFail("sample \(i) has no encoded image") }
            let prompt = try generator.chatPrompt(try XCTUnwrap(s.prompt[0].content), images: [.image(try RGBImage(data: bytes))])
            let alone = try generator.generate(prompt, options: SamplingOptions(greedy: true, maxNewTokens: 6))
            XCTAssertEqual(result.runs[0].predictions[i], alone.text.trimmingCharacters(in: .whitespacesAndNewlines), "sample \(i)")
        }
        let references = samples.map(\.references)
        for run in result.runs {
            var want = EvalScores.score(task: .vqa, predictions: run.predictions, references: references)
            want.perplexity = run.scores.perplexity
            XCTAssertEqual(run.scores, want)
            XCTAssertEqual(run.typeScores.map(\.type), ["even", "odd"])
            XCTAssertEqual(run.typeScores.map(\.scores.samples), [4, 3])
            XCTAssertNotNil(run.scores.perplexity)
        }
        // Deterministic, and the batch size does not change greedy answers.
        let again = try evaluator.run(samples, dataset: data, options: EvalOptions(task: .vqa, maxNewTokens: 6, batchSize: 1, perplexity: false))
        XCTAssertEqual(again.runs[0].predictions, result.runs[0].predictions)
        XCTAssertNil(again.runs[0].scores.perplexity)

        // Perplexity: the rows through SampleBuilder and the training loss path.
        let builder = SampleBuilder(tokenizer: generator.tokenizer, template: generator.template!, config: generator.model.config,
                                    maxSeqLen: generator.model.config.language.maxPositionEmbeddings)
        let built = try (0..<data.count).map { try builder.build(try data.row($0), index: $0) }
        let p = try Perplexity.measure(model: generator.model, samples: built,
                                       features: VisionFeatureExtractor(encoder: generator.model.vision, cache: nil), batchSize: 7)
        XCTAssertEqual(result.runs[0].scores.perplexity ?? 0, p.value ?? -1, accuracy: 1e-4 * (p.value ?? 1))
    }

    func testCaptionTaskScoresCaptions() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        let data = try tinyData()
        let (samples, _) = EvalSampleLoader.load(data, rolesByPosition: false, imageMarker: "<image>")
        let result = try Evaluator(generator: generator).run(samples, dataset: nil, options: EvalOptions(task: .caption, maxNewTokens: 5, batchSize: 4))
        let s = result.runs[0].scores
        XCTAssertNil(s.accuracy)
        XCTAssertNil(result.runs[0].correct)
        XCTAssertEqual(s.bleu, CorpusBLEU.scores(hypotheses: result.runs[0].predictions, references: samples.map(\.references)))
        XCTAssertNotNil(s.ciderD)
        XCTAssertNotNil(s.rougeL)
        XCTAssertNil(s.perplexity)  // no dataset given
    }

    func testShufflePermutationAvoidsOwnImageAndIsSeeded() throws {
        let images = try (0..<9).map { [try png($0 % 3)] } + [[]]
        let p = EvalImages.permutation(images, seed: 5)
        XCTAssertEqual(p.sorted(), Array(0..<10))
        XCTAssertEqual(p[9], 9)  // no image: stays
        for i in 0..<9 { XCTAssertNotEqual(EvalImages.key(images[p[i]][0]), EvalImages.key(images[i][0]), "item \(i)") }
        XCTAssertEqual(EvalImages.permutation(images, seed: 5), p)
        XCTAssertNotEqual(EvalImages.permutation(images, seed: 6), p)
    }

    func testBlankImageIsTheMeanColour() throws {
        let e = EvalImages()
        try e.check(.encoded(try RGBImage(width: 1, height: 2, pixels: [0, 10, 200, 100, 20, 255]).pngData()))
        try e.check(.encoded(try RGBImage(width: 1, height: 1, pixels: [50, 30, 0]).pngData()))
        let b = try e.blank(size: 4)
        XCTAssertEqual(Array(b.pixels.prefix(3)), [50, 20, 152])  // (0+100+50)/3, (10+20+30)/3, (200+255+0)/3 = 151.67
        XCTAssertEqual(b.width, 4)
        XCTAssertThrowsError(try e.check(.encoded(Data("not an image".utf8))))
    }

    func testOptionsAreCheckedWithTypedErrors() {
        XCTAssertThrowsError(try EvalOptions(batchSize: 0).validate()) {
            XCTAssertEqual($0 as? EvalError, .invalidOption(name: "batch", value: "0", allowed: "1…1024"))
        }
        XCTAssertThrowsError(try EvalOptions(maxNewTokens: 0).validate()) {
            XCTAssertEqual($0 as? EvalError, .invalidOption(name: "max-new-tokens", value: "0", allowed: "1…4096"))
        }
        XCTAssertThrowsError(try EvalOptions(batchSize: 5000).validate())
        XCTAssertNoThrow(try EvalOptions().validate())
    }

    func testUnusableSamplesAreLeftOutAndFilesWritten() throws {
        let generator = try GenerationTestSupport.tinyGenerator()
        var rows = try tinyData().rows
        rows[1].images = [.encoded(Data("broken".utf8))]
        let data = InMemoryConversationDataset(rows)
        let (samples, _) = EvalSampleLoader.load(data, rolesByPosition: false, imageMarker: "<image>")
        let evaluator = Evaluator(generator: generator)
        evaluator.warn = { _ in }
        let result = try evaluator.run(samples, dataset: data, options: EvalOptions(task: .vqa, maxNewTokens: 4, batchSize: 4, ablations: [.blank]))
        XCTAssertEqual(result.samples.count, 6)
        XCTAssertEqual(result.skipped.count, 1)
        XCTAssertTrue(result.skipped[0].hasPrefix("row 1: "), result.skipped[0])

        let out = try folder().appendingPathComponent("out")
        try EvalOutput.write(result, source: [(key: "model", value: "tiny"), (key: "data", value: "memory")], maxNewTokens: 4, to: out)
        let lines = try String(contentsOf: out.appendingPathComponent("predictions.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 6)
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(Set(first.keys), ["id", "question", "references", "prediction", "correct", "type", "prediction_blank"])
        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [String: Any])
        XCTAssertEqual(metrics["samples"] as? Int, 6)
        XCTAssertEqual(metrics["accuracy"] as? Double, result.runs[0].scores.accuracy)
        XCTAssertNil(metrics["bleu1"])
        XCTAssertNotNil((metrics["types"] as? [String: Any])?["even"])
        XCTAssertEqual((metrics["blank"] as? [String: Any])?["accuracy"] as? Double, result.runs[1].scores.accuracy)
        XCTAssertNil(metrics["shuffled"])
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<img src=\"data:image/png;base64,"))
        XCTAssertTrue(html.contains("blank image"))
        XCTAssertTrue(html.contains("Left out"))
    }
}
