import XCTest
@testable import MiniMindV

/// A tiny random model folder with the real MiniMind2-V tokenizer: saved, loaded back, and giving
/// the same greedy answer. Set MINIMIND_TINY_BUNDLE_DIR to keep the folder (for trying the CLI:
/// `minimind-v chat --model $MINIMIND_TINY_BUNDLE_DIR`).
final class GenerationBundleTests: XCTestCase {
    static let assets = UpstreamAssets.generation("minimind2-v")

    func testTinyBundleRoundTripGeneratesTheSame() throws {
        let tokenizer = try Tokenizer(contentsOf: Self.assets)
        let vision = try GenerationTestSupport.tinyVision(seed: 3)
        var lmConfig = GenerationTestSupport.tinyLanguageConfig(vocab: 6400)
        lmConfig.maxPositionEmbeddings = 4096
        // '@' (id 34) is MiniMind2-V's placeholder; the tiny tower gives 4 tokens per image.
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .linear, imagePlaceholder: "@", imageTokenId: 34)
        let lm = try MiniMindLM(config: lmConfig, seed: 5)
        var g = SeededGenerator(seed: 9)
        for (name, t) in lm.stateDict() where !name.contains("norm") {
            let p = t.mutablePointer
            for i in 0..<t.count { p[i] = 0.3 * g.nextNormal() }
        }
        let model = try MiniMindVLM(config: config, language: lm, projector: LinearProjector(visionDim: 16, hidden: 32, seed: 6), vision: vision)
        model.eval()
        let bundle = try VLMBundle(model: model, tokenizer: tokenizer)

        let keep = ProcessInfo.processInfo.environment["MINIMIND_TINY_BUNDLE_DIR"]
        let folder = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("tiny-bundle-\(UUID().uuidString)")
        defer { if keep == nil { try? FileManager.default.removeItem(at: folder) } }
        try bundle.save(to: folder, tokenizerFiles: Self.assets)
        let loaded = try VLMBundle.load(folder: folder)

        let picture = try GenerationTestSupport.picture(seed: 6)
        let options = SamplingOptions(greedy: true, maxNewTokens: 8, eosTokenIds: [])
        let a = Generator(bundle: bundle), b = Generator(bundle: loaded)
        let ra = try a.generate(try a.chatPrompt("<image>\n这是什么？", images: [.image(picture)]), options: options)
        let rb = try b.generate(try b.chatPrompt("<image>\n这是什么？", images: [.image(picture)]), options: options)
        XCTAssertEqual(ra.ids, rb.ids)
        XCTAssertEqual(ra.text, rb.text)
        if let keep {
            for (name, format) in [("picture.png", "png"), ("picture.jpg", "jpg")] {
                let url = URL(fileURLWithPath: keep).appendingPathComponent(name)
                if format == "png" { try Data(try picture.pngData()).write(to: url) } else { try Data(try picture.jpegData()).write(to: url) }
            }
        }
    }
}
