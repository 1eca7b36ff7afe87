// The newcomer's path after the demo (issue 20): the model folder the demo writes, used the way the
// README's quickstart uses it — chat with follow-up questions, caption, inspect.
import Foundation
import XCTest
import MiniMindV
import MiniMindVDemo

final class DemoModelFolderTests: XCTestCase {
    /// The quick demo's result and its model folder, loaded at the demo's thread count (so the float
    /// sums run in the order the demo's own evaluation used).
    private func demoModel() throws -> (DemoResult, VLMBundle, [EvalSample]) {
        let result = try QuickDemoRun.shared()
        let previousThreads = Threads.count
        Threads.set(result.settings.threads)
        addTeardownBlock { Threads.set(previousThreads) }
        let files = DemoDataFiles(folder: result.output.appendingPathComponent("data"))
        let dataset = try JSONLConversationDataset(url: files.test, imageFolder: files.images)
        return (result, try VLMBundle.load(folder: result.modelFolder),
                EvalSampleLoader.load(dataset, rolesByPosition: true, imageMarker: "<image>").samples)
    }

    private func imageName(_ sample: EvalSample) -> String {
        if sample.images.count == 1, case .file(let url) = sample.images[0] { return url.lastPathComponent }
        return ""
    }

    private func image(_ result: DemoResult, _ name: String) throws -> PromptImage {
        .image(try RGBImage(contentsOf: result.output.appendingPathComponent("data/images").appendingPathComponent(name)))
    }

    /// A follow-up question keeps the image: asked second in a chat, "How many shapes are there?" gets
    /// the answer it gets asked alone (the single question's answer is the demo's own evaluator's) on
    /// at least 10 of 12 images, and no image or turn is left out, with the answer budget
    /// at the library default of 512 tokens — the whole context of the demo model, which used to drop
    /// the first exchange and its image at every follow-up.
    func testFollowUpQuestionKeepsTheImage() throws {
        let (result, bundle, test) = try demoModel()
        let generator = Generator(bundle: bundle)
        let options = SamplingOptions(greedy: true, maxNewTokens: 512)
        XCTAssertEqual(bundle.model.config.language.maxPositionEmbeddings, 512)
        let evaluation = try XCTUnwrap(result.evaluation)
        let reported = Dictionary(zip(evaluation.samples, evaluation.runs[0].predictions).filter { $0.0.type == "count" }
                                      .map { (imageName($0.0), $0.1) }, uniquingKeysWith: { a, _ in a })
        let images = Array(Set(test.map(imageName))).sorted().prefix(12)
        XCTAssertEqual(images.count, 12)
        // The model never saw a two-turn conversation in training, so a follow-up whose answer is
        // marginal can flip with float summation order (e.g. the GEMM backend). A follow-up that lost
        // its image answers counts at chance (1/3 of 1–3); it must agree with the single question on
        // at least 10 of the 12 images.
        var agreeing = 0
        for name in images {
            let questions = test.filter { imageName($0) == name }
            let first = try XCTUnwrap(questions.first { $0.type == "colour" } ?? questions.first { $0.type == "shape" })
            let count = try XCTUnwrap(questions.first { $0.type == "count" }).question
            let picture = try image(result, name)

            let alone = ChatSession(generator: generator, options: options)
            let single = try alone.ask(count, images: [picture]).text.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(single, reported[name], "\(name): the chat path answers as the demo's evaluator did")

            let chat = ChatSession(generator: generator, options: options)
            _ = try chat.ask(first.question, images: [picture])
            let followUp = try chat.ask(count).text.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(chat.lastDroppedTurns, 0, name)
            XCTAssertEqual(chat.lastImagesLeftOut, 0, name)
            XCTAssertEqual(chat.turns[0].images.map(\.contentKey), [picture.contentKey], name)
            if followUp == single { agreeing += 1 }
        }
        XCTAssertGreaterThanOrEqual(agreeing, 10, "follow-ups answering as the single question does, of \(images.count)")
    }

    /// The folder carries its caption prompt (generation_config.json), and the caption command's path
    /// — the folder's prompt and sampling defaults, batched generation — gives the captions the demo's
    /// report shows.
    func testCaptionUsesTheFoldersPromptAndMatchesTheReport() throws {
        let (result, bundle, _) = try demoModel()
        let config = try XCTUnwrap(bundle.generation, "the demo writes generation_config.json")
        XCTAssertEqual(bundle.captionPrompt, "<image>\n" + DemoLanguage.describePrompt)
        XCTAssertEqual(config.doSample, false)
        let options = config.samplingOptions()
        XCTAssertTrue(options.isGreedy)
        let generator = Generator(bundle: bundle)
        let captionRun = try XCTUnwrap(result.captions)
        let names = captionRun.samples.prefix(12).map(imageName)
        XCTAssertEqual(names.count, 12)
        let prompts = try names.map { try generator.chatPrompt(bundle.captionPrompt, images: [try image(result, $0)]) }
        var texts: [String] = []
        for start in stride(from: 0, to: prompts.count, by: 4) {  // the caption command's default batch size
            texts += try generator.generateBatch(Array(prompts[start..<min(start + 4, prompts.count)]), options: options).map(\.text)
        }
        // Equal to the report's, right or wrong (their correctness is not what this checks).
        XCTAssertEqual(texts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }, Array(captionRun.runs[0].predictions.prefix(12)))
    }

    /// inspect reads the folder's config.json: 4 heads / 2 KV heads (the shapes alone would suggest
    /// 8/4, upstream's head count, since q_proj is 64 = heads × head_dim either way).
    func testInspectReadsTheFoldersConfig() throws {
        let result = try QuickDemoRun.shared()
        let shapes = Weights.shapes(try Weights.read(result.modelFolder))
        let lines = ModelInspection.configurationLines(path: result.modelFolder, shapes: shapes)
        XCTAssertTrue(lines[0].hasPrefix("config.json: decoder hidden 64, 2 layers, heads 4/2 (head dim 16)"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("weights: agree with config.json"), lines.joined(separator: "\n"))
        XCTAssertEqual(try ConfigInference.language(from: shapes).numAttentionHeads, 8, "what guessing from shapes gives")

        // A config.json the weights contradict is reported, naming what differs.
        var wrong = try JSONDecoder().decode(VLMConfig.self, from: Data(contentsOf: result.modelFolder.appendingPathComponent("config.json")))
        wrong.language.numKeyValueHeads = 4
        wrong.language.numHiddenLayers = 3
        let problems = ModelInspection.contradictions(wrong, shapes: shapes)
        XCTAssertEqual(problems, ["layer count is 2 in the weights, 3 in config.json",
                                  "k_proj width is 32 in the weights, 64 in config.json (4 KV heads × head dim 16)"])
    }
}
