import XCTest
@testable import MiniMindV

/// Malformed rows are counted and skipped with a warning naming the row, or stop the run when strict.
final class DataMalformedRowTests: XCTestCase {
    func makeFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmv-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A tiny CLIP-like tower (3×3 patches of 8 px → 9 tokens of width 24) with 24-px preprocessing.
    static func tinyEncoder() throws -> ViTVisionEncoder {
        let config = VisionConfig(kind: .clip, hiddenSize: 24, intermediateSize: 48, numHiddenLayers: 1, numAttentionHeads: 2,
                                  imageSize: 24, patchSize: 8, layerNormEps: 1e-5, activation: .quickGelu)
        let pre = ImagePreprocessing(kind: .clip, resize: .exact(width: 24, height: 24), resample: .bilinear, crop: nil,
                                     rescaleFactor: 1.0 / 255, mean: ImagePreprocessing.clipMean, std: ImagePreprocessing.clipStd)
        return try ViTVisionEncoder(config: config, preprocessing: pre, seed: 4)
    }

    static func png(_ seed: UInt8) throws -> Data {
        try RGBImage(width: 30, height: 20, pixels: (0..<(30 * 20 * 3)).map { UInt8(truncatingIfNeeded: $0 &* Int(seed)) }).pngData()
    }

    func testJSONLRowsAreCountedAndSkippedOrStopWhenStrict() throws {
        let tok = try UpstreamAssets.tokenizer("minimind2-v")
        let dir = try makeFolder()
        try Self.png(3).write(to: dir.appendingPathComponent("good.png"))
        try Data("not an image".utf8).write(to: dir.appendingPathComponent("corrupt.png"))
        let long = String(repeating: "word ", count: 400)
        let lines = [
            #"{"conversations":[{"role":"user","content":"<image>\nWhat is it?"},{"role":"assistant","content":"A pattern."}],"image":"good.png"}"#,
            #"{"conversations":[{"role":"user","content":"hi"#,
            #"{"conversations":[{"role":"user","content":"<image> hi"},{"role":"assistant","content":"x"}],"image":"missing.png"}"#,
            #"{"conversations":[{"role":"user","content":"<image> hi"},{"role":"assistant","content":"x"}],"image":"corrupt.png"}"#,
            #"{"conversations":[{"role":"user","content":"only a question"}]}"#,
            #"{"conversations":[{"role":"user","content":"\#(long)"},{"role":"assistant","content":"late"}]}"#,
            #"{"conversations":[{"role":"user","content":"<image> and <image>"},{"role":"assistant","content":"x"}],"image":"good.png"}"#,
            #"{"conversations":[{"role":"user","content":"Text only?"},{"role":"assistant","content":"Yes."}]}"#,
        ]
        let jsonl = dir.appendingPathComponent("data.jsonl")
        try lines.joined(separator: "\n").write(to: jsonl, atomically: true, encoding: .utf8)

        var config = VLMPreset.minimind2SmallV.config
        let encoder = try Self.tinyEncoder()
        config.vision = encoder.config
        let builder = SampleBuilder(tokenizer: tok, template: try ChatTemplate(tokenizer: tok), config: config, maxSeqLen: 300)
        let source = ConversationSampleSource(dataset: try openConversationDataset(jsonl, imageFolder: dir), builder: builder)
        var warnings: [String] = []
        try source.validate(strict: false) { warnings.append($0) }
        let extractor = VisionFeatureExtractor(encoder: encoder, cache: nil)
        try extractor.prepare(source, strict: false) { warnings.append($0) }
        XCTAssertEqual(source.count, 2, "the good image row and the text-only row remain")
        XCTAssertEqual(source.skipped.count, 6)
        let expected = ["line 2": "bad JSON", "line 3": "missing image", "line 4": "corrupt", "line 5": "no assistant turn",
                        "line 6": "too long", "line 7": "2 <image> marker(s) but 1 image(s)"]
        for (row, reason) in expected {
            XCTAssertTrue(warnings.contains { $0.contains("data.jsonl \(row):") && $0.contains(reason) }, "\(row) → \(reason); got \(warnings)")
        }
        // strict: the first malformed row stops with its name.
        let strictSource = ConversationSampleSource(dataset: try openConversationDataset(jsonl, imageFolder: dir), builder: builder)
        XCTAssertThrowsError(try strictSource.validate(strict: true)) { error in
            XCTAssertTrue("\(error)".contains("data.jsonl line 2"), "\(error)")
        }
    }

    func testParquetBadConversationJSONIsAMalformedRow() throws {
        let rows = ConversationRow.self
        XCTAssertThrowsError(try rows.messages(fromJSONText: "[{\"role\": \"user\"", row: "x.parquet row 4")) { error in
            XCTAssertTrue("\(error)".hasPrefix("x.parquet row 4: bad JSON"), "\(error)")
        }
        XCTAssertThrowsError(try openConversationDataset(URL(fileURLWithPath: "/nonexistent/file.parquet")))
    }

    func testFeatureCacheComputesEachImageOnceAcrossRuns() throws {
        let dir = try makeFolder()
        let encoder = try Self.tinyEncoder()
        let identity = VisionFeatureCache.identity(of: encoder)
        let images: [PromptImage] = [.encoded(try Self.png(3)), .encoded(try Self.png(5)), .encoded(try Self.png(3))]
        let first = VisionFeatureExtractor(encoder: encoder, cache: try VisionFeatureCache(root: dir, encoderIdentity: identity))
        let a = try first.features(for: images, row: "r")
        XCTAssertEqual(first.computed, 2)
        XCTAssertEqual(first.reused, 1)
        let second = VisionFeatureExtractor(encoder: encoder, cache: try VisionFeatureCache(root: dir, encoderIdentity: identity))
        let b = try second.features(for: images, row: "r")
        XCTAssertEqual(second.computed, 0, "a new run reads the features from disk")
        for (x, y) in zip(a, b) { XCTAssertEqual(x.toArray(), y.toArray()) }
        let direct = noGrad { encoder.encode(try! encoder.preprocessing([try! RGBImage(data: try! Self.png(5))])) }
        XCTAssertEqual(direct.toArray(), a[1].toArray(), "cached features are the encoder's output")
        let other = try Self.tinyEncoder()
        other.parameters().first?.mutablePointer[0] += 1
        XCTAssertNotEqual(VisionFeatureCache.identity(of: other), identity, "another encoder never reads these features")
    }
}
