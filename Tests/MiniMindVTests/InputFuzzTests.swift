import Foundation
import XCTest
@testable import MiniMindV

/// Seeded mutation fuzzing of every file a user hands the SDK (InputFuzzer): each target reads
/// mutations of real fixtures through the same code the CLI runs, for a few seconds. Counts and
/// times are printed and recorded in Docs/Reliability.md.
final class InputFuzzTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mmv-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func bytes(_ relative: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(relative))) }

    /// Writes with stdio (Foundation's Data.write costs ~9 ms a file here).
    func put(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = scratch.appendingPathComponent(name)
        guard let f = fopen(url.path, "wb") else { throw CocoaError(.fileWriteUnknown) }
        defer { fclose(f) }
        guard bytes.withUnsafeBytes({ fwrite($0.baseAddress, 1, $0.count, f) }) == bytes.count else { throw CocoaError(.fileWriteUnknown) }
        return url
    }

    // Hostile numbers (ids of 2^31, 2^62, negative ranks …) included: the tokenizer checks id ranges
    // before it allocates (Docs/Reliability.md, "Tokenizer files").
    func testTokenizerFile() throws {
        let seed = try bytes("tokenizer/hf_trained/tokenizer.json")
        let outcome = fuzz("tokenizer.json", seeds: [seed], iterations: 4000) { input in
            let tok = try Tokenizer(tokenizerJSON: Data(input), path: "mutated/tokenizer.json")
            _ = tok.decode(tok.encode("Hello 你好 <|im_start|> 😀 \r\n"))
        }
        XCTAssertGreaterThan(outcome.refused, outcome.runs / 10, "the mutations mostly break the file")
    }

    func testTokenizerConfigAndChatTemplate() throws {
        let folder = UpstreamAssets.generation("minimind-3v")
        let tokenizerJSON = try Data(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        let seed = [UInt8](try Data(contentsOf: folder.appendingPathComponent("tokenizer_config.json")))
        let messages = [ChatMessage(role: "user", content: "<image> hi"), ChatMessage(role: "assistant", content: "x")]
        fuzz("tokenizer_config.json", seeds: [seed], iterations: 300) { input in
            let tok = try Tokenizer(tokenizerJSON: tokenizerJSON, configJSON: Data(input), path: "mutated/tokenizer.json")
            _ = tok.encode(try ChatTemplate(tokenizer: tok).render(messages))
        }
    }

    // Decoding and validation only: building a model from hostile sizes is guarded by the model
    // configuration checks of issue #24's "numbers" half.
    func testModelConfig() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let seeds = try [VLMPreset.minimind2SmallV, .minimind3VMoE].map { [UInt8](try encoder.encode($0.config)) }
        fuzz("model config.json", seeds: seeds, iterations: 20000) { input in
            let config = try JSONDecoder().decode(VLMConfig.self, from: Data(input))
            try config.validate()
        }
    }

    func testVisionConfig() throws {
        let seeds = [try bytes("models/clip_config.json")]
        fuzz("vision config.json", seeds: seeds, iterations: 20000) { input in
            try JSONDecoder().decode(VisionConfig.self, from: Data(input)).validate()
        }
    }

    func testPreprocessorConfigAppliedToAnImage() throws {
        let names = ["clip_openai", "clip_pad", "clip_nocrop", "siglip_256", "siglip_bicubic"]
        let seeds = try names.map { try bytes("images/configs/\($0).json") }
        let image = try RGBImage(width: 37, height: 53, pixels: (0..<(37 * 53 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        fuzz("preprocessor_config.json", seeds: seeds, iterations: 10000) { input in
            let pre = try ImagePreprocessing(preprocessorConfigData: Data(input), source: "mutated")
            _ = try pre(image)
        }
    }

    func testResumeFile() throws {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let lmConfig = try XCTUnwrap(c["lm_config"]), sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        let samples = try TrainingFixtures.samples(case: "vlm2_sft", micro: 0, sampleImages: sampleImages[0])
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: lmConfig)
        var recipe = TrainingRecipe.sft(for: model.config)
        recipe.batchSize = 3
        recipe.maxSteps = 1
        let out = scratch.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples), outputDirectory: out)
        _ = try trainer.run()
        let seed = [UInt8](try Data(contentsOf: out.appendingPathComponent(trainer.resumeFileName)))
        let target = try VLMTrainer(model: try TrainingFixtures.model(kind: "vlm2", lmConfig: lmConfig), recipe: recipe,
                                    samples: PreparedSamples(samples))
        fuzz("resume file", seeds: [seed], iterations: 400) { input in
            try target.resume(from: try put(input, "resume.safetensors"))
        }
    }

    /// Rows through the whole data path: dataset, sample building (real tokenizer and template),
    /// and the image pre-pass (decode, preprocess, encode).
    /// Returns (rows kept, rows skipped as malformed).
    @discardableResult
    func trainingDataPath(_ url: URL, imageFolder: URL?) throws -> (kept: Int, skipped: Int) {
        let source = ConversationSampleSource(dataset: try openConversationDataset(url, imageFolder: imageFolder),
                                              builder: dataBuilder)
        try source.validate(strict: false)
        try VisionFeatureExtractor(encoder: dataEncoder, cache: nil).prepare(source, strict: false)
        return (source.count, source.skipped.count)
    }

    lazy var dataEncoder: ViTVisionEncoder = try! DataMalformedRowTests.tinyEncoder()
    lazy var dataBuilder: SampleBuilder = {
        let tok = try! UpstreamAssets.tokenizer("minimind2-v")
        var config = VLMPreset.minimind2SmallV.config
        config.vision = self.dataEncoder.config
        return SampleBuilder(tokenizer: tok, template: try! ChatTemplate(tokenizer: tok), config: config, maxSeqLen: 200)
    }()

    func testJSONLRows() throws {
        let images = scratch.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try DataMalformedRowTests.png(3).write(to: images.appendingPathComponent("a.png"))
        try DataMalformedRowTests.png(5).write(to: images.appendingPathComponent("b.png"))
        let rows = [
            #"{"conversations":[{"role":"user","content":"<image>\nWhat is it?"},{"role":"assistant","content":"A pattern."}],"image":"a.png"}"#,
            #"{"conversations":[{"role":"user","content":"<image> and <image>?"},{"role":"assistant","content":"Two."}],"image":"a.png, b.png"}"#,
            #"{"conversations":[{"role":"system","content":"Be brief."},{"role":"user","content":"Text?"},{"role":"assistant","content":"Yes."}]}"#,
        ]
        let seed = Array(rows.joined(separator: "\n").utf8)
        var rowCounts = (kept: 0, skipped: 0)
        fuzz("JSONL rows", seeds: [seed], iterations: 600) { input in
            let r = try trainingDataPath(try put(input, "data.jsonl"), imageFolder: images)
            rowCounts = (rowCounts.kept + r.kept, rowCounts.skipped + r.skipped)
        }
        print("fuzz JSONL rows: \(rowCounts.kept) rows kept, \(rowCounts.skipped) skipped as malformed")
        XCTAssertGreaterThan(rowCounts.skipped, 100, "mutations break rows, and broken rows are skipped one by one")
        XCTAssertGreaterThan(rowCounts.kept, 100, "the rows a mutation did not touch are kept")
    }

    func testParquetRows() throws {
        let seeds = try ["minimind_v_single", "minimind_v_multi", "minimind_v_text_only"].map { try bytes("parquet/\($0).parquet") }
        var rowCounts = (kept: 0, skipped: 0)
        fuzz("Parquet rows", seeds: seeds, iterations: 600) { input in
            let r = try trainingDataPath(try put(input, "data.parquet"), imageFolder: nil)
            rowCounts = (rowCounts.kept + r.kept, rowCounts.skipped + r.skipped)
        }
        print("fuzz Parquet rows: \(rowCounts.kept) rows kept, \(rowCounts.skipped) skipped as malformed")
    }
}
