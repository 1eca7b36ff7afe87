import XCTest
@testable import MiniMindV

/// `minimind-v convert` keeps the model: folder → folder and folder → .pth → folder give the same
/// logits bit for bit, with the model's own heads, head_dim, max positions and vision config; a
/// preset or a missing config that would change the model is refused.
final class ConvertRoundTripTests: XCTestCase {
    static let tokenizerFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/upstream/minimind2-v")

    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// A tiny random model folder whose config no preset and no shape inference reproduces:
    /// 4 query / 2 key-value heads of 8, 512 positions, a 4-token vision tower.
    func tinyFolder() throws -> URL {
        let tokenizer = try Tokenizer(contentsOf: Self.tokenizerFolder)
        let model = try GenerationTestSupport.tinyVLM(tokenizer: tokenizer)
        let folder = scratch.appendingPathComponent("model")
        try VLMBundle(model: model, tokenizer: tokenizer).save(to: folder, tokenizerFiles: Self.tokenizerFolder)
        return folder
    }

    /// Logits of a prompt with one image, from a model folder.
    func logits(_ folder: URL) throws -> [Float] {
        let bundle = try VLMBundle.load(folder: folder)
        let model = bundle.model
        var g = SeededGenerator(seed: 4)
        let pixels = Tensor.randn([1, 3, 32, 32], generator: &g)
        let images = noGrad { model.project(model.visionFeatures(pixels)) }
        let at = model.config.imageTokenId
        let ids = [1, 300, 301, at, at, at, at, 302, 303, 304]
        return noGrad { model.logits(ids: ids, images: images, imagesPerSample: [[0]]) }.toArray()
    }

    func testFolderToFolderKeepsConfigAndLogitsExactly() throws {
        let source = try tinyFolder()
        let out = scratch.appendingPathComponent("copy")
        try ModelConversion(input: source, output: out).run()
        XCTAssertEqual(try ModelSource.readConfig(out.appendingPathComponent("config.json")),
                       try ModelSource.readConfig(source.appendingPathComponent("config.json")))
        let (a, b) = (try logits(source), try logits(out))
        XCTAssertEqual(a.count, 10 * 6400)
        XCTAssertEqual(a, b)
        XCTAssertFalse(a.contains { !$0.isFinite })
    }

    func testPTHRoundTripNeedsTheConfigAndThenKeepsLogitsExactly() throws {
        let source = try tinyFolder()
        let pth = scratch.appendingPathComponent("model.pth")
        try ModelConversion(input: source, output: pth).run()
        let back = scratch.appendingPathComponent("back")
        // Without a config the head count of these weights is unknown: refused, not guessed.
        XCTAssertThrowsError(try ModelConversion(input: pth, output: back, vision: source.appendingPathComponent("vision"),
                                                 tokenizer: source).run()) { error in
            guard case ModelError.ambiguousConfig? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: back.path))
        try ModelConversion(input: pth, output: back, configFile: source.appendingPathComponent("config.json"),
                            vision: source.appendingPathComponent("vision"), tokenizer: source).run()
        XCTAssertEqual(try logits(source), try logits(back))
    }

    func testContradictingPresetIsRefused() throws {
        let source = try tinyFolder()
        XCTAssertThrowsError(try ModelConversion(input: source, output: scratch.appendingPathComponent("p"),
                                                 preset: .minimind2SmallV).run()) { error in
            XCTAssertTrue("\(error)".contains("contradicts the model's own config.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("num_attention_heads 8 vs 4"), "\(error)")
        }
        let pth = scratch.appendingPathComponent("model.safetensors")
        try ModelConversion(input: source, output: pth).run()
        XCTAssertThrowsError(try ModelConversion(input: pth, output: scratch.appendingPathComponent("q"),
                                                 preset: .minimind2SmallV).run()) { error in
            XCTAssertTrue("\(error)".contains("contradicts the weights"), "\(error)")
            XCTAssertTrue("\(error)".contains("hidden_size 512 in the preset, 32 in the weights"), "\(error)")
        }
        // A preset with a weights-file output is meaningless and refused too.
        XCTAssertThrowsError(try ModelConversion(input: source, output: scratch.appendingPathComponent("r.pth"),
                                                 preset: .minimind2SmallV).run()) { error in
            XCTAssertEqual(error as? ConversionError, .configForWeightsFile(output: "r.pth"))
        }
    }

    /// Weights of a preset's shapes still convert without --config (the preset is the config).
    func testPresetShapedWeightsResolveToThePreset() throws {
        let config = VLMPreset.minimind2SmallV.config
        var shapes = Dictionary(uniqueKeysWithValues: try MiniMindLM(config: config.language).stateDict().map { ($0.0, $0.1.shape) })
        for (k, t) in MiniMindVLM.makeProjector(config, seed: 0).stateDict() { shapes["vision_proj." + k] = t.shape }
        XCTAssertEqual(try ModelConversion.resolveConfig(shapes: shapes, own: nil, preset: nil, vision: nil), config)
        XCTAssertEqual(try ModelConversion.resolveConfig(shapes: shapes, own: nil, preset: .minimind2SmallV, vision: nil), config)
        XCTAssertThrowsError(try ModelConversion.resolveConfig(shapes: shapes, own: nil, preset: .minimind2V, vision: nil))
    }
}
