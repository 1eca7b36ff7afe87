import XCTest
import TestSupport
@testable import MiniMindV

/// Upstream MiniMind-V's transformers layout of the whole VLM against Scripts/gen_transformers_vlm_fixtures.py
/// (Tests/Fixtures/transformers-vlm): folders written with transformers' `save_pretrained` and
/// safetensors, and the logits transformers + torch compute for an image prompt. We read them with
/// those logits, write the same files (config.json fields, tensor names, dtypes and bytes), and read
/// our own export back bit for bit. With MINIMIND_EXPORT_DIR=DIR the exports are kept for
/// `python3 Scripts/gen_transformers_vlm_fixtures.py --validate DIR`, which reads them with transformers/torch.
final class TransformersVLMExportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/transformers-vlm")
    static let generations = [("minimind2v", "minimind2-v"), ("minimind3v", "minimind-3v")]

    struct Case: Decodable { let question: String; let image: String; let ids: [Int] }

    static func testCase(_ name: String) throws -> Case {
        try JSONDecoder().decode(Case.self, from: Data(contentsOf: fixtures.appendingPathComponent("\(name)_case.json")))
    }

    static func reference(_ name: String, tokenizer: String) throws -> VLMBundle {
        try TransformersVLMExport.load(folder: fixtures.appendingPathComponent(name),
                                       vision: fixtures.appendingPathComponent("\(name)-vision"),
                                       tokenizer: UpstreamAssets.generation(tokenizer))
    }

    /// The last positions' logits (the fixture keeps 4) for the case's ids and the script's pixels.
    static func lastLogits(_ bundle: VLMBundle, ids: [Int], pixels: Tensor, count: Int = 4) -> [Float] {
        let model = bundle.model
        let images = noGrad { model.project(model.visionFeatures(pixels)) }
        let all = noGrad { model.logits(ids: ids, images: images, imagesPerSample: [[0]]) }.toArray()
        return Array(all.suffix(count * model.config.language.vocabSize))
    }

    func testReadsUpstreamLayoutWithTransformersLogits() throws {
        for (name, tokenizer) in Self.generations {
            let bundle = try Self.reference(name, tokenizer: tokenizer)
            let c = try Self.testCase(name)
            XCTAssertEqual(bundle.model.config.projector, name == "minimind2v" ? .linear : .mlp)
            XCTAssertEqual(bundle.model.config.imageTokens, 16)
            // The prompt: our chat template and tokenizer give transformers' ids.
            let picture = try RGBImage(contentsOf: Self.fixtures.deletingLastPathComponent().appendingPathComponent(c.image))
            let prompt = try Generator(bundle: bundle).chatPrompt(c.question, images: [.image(picture)])
            XCTAssertEqual(prompt.ids, c.ids, name)
            // The image: our preprocessing gives the processor's pixels (PNG, so decoding is exact).
            let pixels = try NPYFile.read(Self.fixtures.appendingPathComponent("\(name)_pixels.npy")).toTensor()
            XCTAssertLessThanOrEqual(worstDifference(try bundle.model.preprocess([picture]).toArray(), pixels.toArray()), 1e-5, name)
            // The model: logits within 1e-4 of transformers + torch (float32, bf16 weights widened exactly).
            let expected = try NPYFile.read(Self.fixtures.appendingPathComponent("\(name)_logits.npy")).toTensor()
            let ours = Self.lastLogits(bundle, ids: c.ids, pixels: pixels)
            XCTAssertEqual(ours.count, expected.count)
            let diff = worstDifference(ours, expected.toArray())
            XCTAssertLessThanOrEqual(diff, 1e-4, name)
            XCTAssertGreaterThan(expected.toArray().map(abs).max() ?? 0, 0.1, "logits that could hide a difference")
        }
    }

    /// Our writer makes the script's files: every config.json field upstream's VLMConfig writes with
    /// the same value, the same tensors (names, dtypes, shapes, bytes), generation_config.json's ids;
    /// and our export reads back with bit-identical logits.
    func testExportMatchesReferenceFilesAndReadsBackExactly() throws {
        let keep = ProcessInfo.processInfo.environment["MINIMIND_EXPORT_DIR"]
        let root = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("tvlm-\(UUID().uuidString)")
        defer { if keep == nil { try? FileManager.default.removeItem(at: root) } }
        for (name, tokenizer) in Self.generations {
            let bundle = try Self.reference(name, tokenizer: tokenizer)
            let out = root.appendingPathComponent(name), ref = Self.fixtures.appendingPathComponent(name)
            try TransformersVLMExport.write(bundle.model, tokenizerFiles: UpstreamAssets.generation(tokenizer), generation: nil,
                                            dtype: .bf16, to: out)
            XCTAssertTrue(TransformersVLMExport.isLayout(out))

            let ours = try JSONValue.load(out.appendingPathComponent("config.json"))
            let theirs = try XCTUnwrap(try JSONValue.load(ref.appendingPathComponent("config.json")).objectValue)
            // transformers' bookkeeping: its version, and rope_parameters (its 5.x spelling of the null rope_scaling we write).
            for (key, value) in theirs where !["transformers_version", "rope_parameters"].contains(key) {
                XCTAssertTrue(Self.same(ours[key], value), "\(name) config.json \(key): ours \(String(describing: ours[key])), reference \(value)")
            }
            let extra = Set(ours.objectValue?.keys.map { $0 } ?? []).subtracting(theirs.keys)
            let expectedExtra: Set<String> = name == "minimind2v" ? ["head_dim", "pad_token_id", "rope_scaling", "tie_word_embeddings"]
                                                                  : ["pad_token_id", "rope_scaling", "tie_word_embeddings"]
            XCTAssertEqual(extra, expectedExtra, name)

            let a = try Safetensors.read(out.appendingPathComponent("model.safetensors"))
            let b = try Safetensors.read(ref.appendingPathComponent("model.safetensors"))
            XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), name)
            XCTAssertNil(a["lm_head.weight"], "tied head not stored")
            for key in b.keys { XCTAssertEqual(a[key], b[key], "\(name) \(key)") }

            let generation = try JSONValue.load(out.appendingPathComponent("generation_config.json"))
            XCTAssertEqual(generation["bos_token_id"]?.intValue, 1)
            XCTAssertEqual(generation["eos_token_id"]?.intValue, 2)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer.json").path))

            let back = try TransformersVLMExport.load(folder: out, vision: Self.fixtures.appendingPathComponent("\(name)-vision"), tokenizer: nil)
            XCTAssertEqual(back.model.config, bundle.model.config, name)
            let c = try Self.testCase(name)
            let pixels = try NPYFile.read(Self.fixtures.appendingPathComponent("\(name)_pixels.npy")).toTensor()
            XCTAssertEqual(Self.lastLogits(back, ids: c.ids, pixels: pixels, count: c.ids.count),
                           Self.lastLogits(bundle, ids: c.ids, pixels: pixels, count: c.ids.count), name)
        }
    }

    /// `convert` from our model folder to the layout and back keeps the model: same config (vision
    /// from --vision), bit-identical logits; without --vision the layout loads for text only.
    func testConvertModelFolderToLayoutAndBack() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tvlm-convert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let tokenizer = try Tokenizer(contentsOf: ConvertRoundTripTests.tokenizerFolder)
        let source = scratch.appendingPathComponent("model")
        try VLMBundle(model: try GenerationTestSupport.tinyVLM(tokenizer: tokenizer), tokenizer: tokenizer)
            .save(to: source, tokenizerFiles: ConvertRoundTripTests.tokenizerFolder)
        let layout = scratch.appendingPathComponent("hf"), back = scratch.appendingPathComponent("back")
        try ModelConversion(input: source, output: layout, layout: .transformers).run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: layout.appendingPathComponent("vision").path), "no vision weights")
        try ModelConversion(input: layout, output: back, vision: source.appendingPathComponent("vision")).run()
        XCTAssertEqual(try ModelSource.readConfig(back.appendingPathComponent("config.json")),
                       try ModelSource.readConfig(source.appendingPathComponent("config.json")))
        func logits(_ bundle: VLMBundle) -> [Float] {
            let model = bundle.model
            var g = SeededGenerator(seed: 4)
            let images = noGrad { model.project(model.visionFeatures(Tensor.randn([1, 3, 32, 32], generator: &g))) }
            let at = model.config.imageTokenId
            return noGrad { model.logits(ids: [1, 300, at, at, at, at, 302], images: images, imagesPerSample: [[0]]) }.toArray()
        }
        XCTAssertEqual(logits(try VLMBundle.load(folder: source)), logits(try VLMBundle.load(folder: back)))

        let textOnly = try TransformersVLMExport.load(folder: layout, vision: nil, tokenizer: nil)
        XCTAssertTrue(textOnly.model.vision is MissingVisionEncoder)
        let ids = tokenizer.encode("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n")
        let full = try VLMBundle.load(folder: source)
        XCTAssertEqual(noGrad { textOnly.model.logits(ids: ids) }.toArray(), noGrad { full.model.logits(ids: ids) }.toArray())
    }

    /// The command line end to end: `convert --format transformers` of the fixture, `forward --model
    /// OUT --vision DIR` on a PNG (transformers' ids, logits within 1e-4), `inspect` of the folder and
    /// of a GGUF export of it.
    func testCommandLineConvertForwardInspect() throws {
        let dir = try CLISupport.folder(self)
        let (name, tokenizer) = Self.generations[1]
        let vision = Self.fixtures.appendingPathComponent("\(name)-vision").path
        let out = dir.appendingPathComponent("hf").path
        let converted = try CLISupport.run(["convert", Self.fixtures.appendingPathComponent(name).path, out, "--format", "transformers",
                                            "--dtype", "bf16", "--tokenizer", UpstreamAssets.generation(tokenizer).path])
        XCTAssertEqual(converted.status, 0, converted.stderr)
        XCTAssertTrue(converted.stdout.contains("--vision DIR"), converted.stdout)
        let c = try Self.testCase(name)
        let logits = dir.appendingPathComponent("logits.npy"), ids = dir.appendingPathComponent("ids.npy")
        let image = Self.fixtures.deletingLastPathComponent().appendingPathComponent(c.image).path
        let forward = try CLISupport.run(["forward", "--model", out, "--vision", vision, "--image", image, "--prompt", c.question,
                                          "--dump-logits", logits.path, "--dump-ids", ids.path])
        XCTAssertEqual(forward.status, 0, forward.stderr)
        XCTAssertEqual(try NPYFile.read(ids).int64Values().map { Int($0) }, c.ids)
        let expected = try NPYFile.read(Self.fixtures.appendingPathComponent("\(name)_logits.npy")).toTensor().toArray()
        let got = try NPYFile.read(logits).toTensor().toArray()
        XCTAssertLessThanOrEqual(worstDifference(Array(got.suffix(expected.count)), expected), 1e-4)

        let inspect = try CLISupport.run(["inspect", "--summary", out])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("upstream MiniMind-V transformers layout"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("weights: agree with config.json"), inspect.stdout)
        let gguf = dir.appendingPathComponent("lm.gguf").path
        let toGGUF = try CLISupport.run(["convert", out, gguf, "--type", "q8_0"])
        XCTAssertEqual(toGGUF.status, 0, toGGUF.stderr)
        let inspectGGUF = try CLISupport.run(["inspect", gguf])
        XCTAssertEqual(inspectGGUF.status, 0, inspectGGUF.stderr)
        XCTAssertTrue(inspectGGUF.stdout.contains("minimind-v import: qwen3 decoder"), inspectGGUF.stdout)
        XCTAssertTrue(inspectGGUF.stdout.contains("blk.0.attn_q_norm.weight"), inspectGGUF.stdout)
    }

    func testBadConfigsAreRefusedByName() throws {
        let shapes = ["vision_proj.vision_proj.0.weight": [16, 32], "model.embed_tokens.weight": [6400, 16]]
        func json(_ edit: (inout [String: JSONValue]) -> Void) throws -> JSONValue {
            var o = try XCTUnwrap(try JSONValue.load(Self.fixtures.appendingPathComponent("minimind2v/config.json")).objectValue)
            edit(&o)
            return .object(o)
        }
        XCTAssertThrowsError(try TransformersVLMExport.config(json: try json { $0["model_type"] = .string("llama") }, shapes: shapes, vision: nil)) {
            XCTAssertTrue("\($0)".contains("model_type"), "\($0)")
        }
        XCTAssertThrowsError(try TransformersVLMExport.config(json: try json { $0["image_ids"] = .array([.int(7000)]) }, shapes: shapes, vision: nil)) {
            XCTAssertTrue("\($0)".contains("image_ids"), "\($0)")
        }
        XCTAssertThrowsError(try TransformersVLMExport.config(json: try json { $0["image_ids"] = .array([]) }, shapes: shapes, vision: nil))
        XCTAssertThrowsError(try TransformersVLMExport.config(json: try json { $0["hidden_size"] = .int(1 << 40) }, shapes: shapes, vision: nil)) {
            XCTAssertTrue("\($0)".contains("hidden_size"), "\($0)")
        }
        XCTAssertThrowsError(try TransformersVLMExport.config(json: try json { _ in }, shapes: ["model.embed_tokens.weight": [6400, 16]], vision: nil)) {
            XCTAssertTrue("\($0)".contains("projector"), "\($0)")
        }
    }

    /// JSON values equal as upstream's reader sees them (numbers by value: 1e6 and 1000000.0 are one).
    static func same(_ a: JSONValue?, _ b: JSONValue) -> Bool {
        guard let a else { return false }
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        if case let .array(xs) = a, case let .array(ys) = b { return xs.count == ys.count && zip(xs, ys).allSatisfy { same($0, $1) } }
        if case let .object(xs) = a, case let .object(ys) = b { return xs.keys.sorted() == ys.keys.sorted() && ys.allSatisfy { same(xs[$0.key], $0.value) } }
        return a == b
    }
}
