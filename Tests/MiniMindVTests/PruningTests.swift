import Foundation
import TestSupport
import XCTest
@testable import MiniMindV

/// `StructuredPruning`: keeping everything changes nothing; removing channels and heads that
/// contribute nothing (zero weights) leaves the logits as they were; the pruned folder loads,
/// generates and round-trips.
final class PruningTests: XCTestCase {
    static let assets = UpstreamAssets.generation("minimind2-v")

    /// A random 2-block model, 8 query heads over 2 KV heads, weights ~ N(0, 0.3) so that outputs
    /// depend on every part; with the real MiniMind2-V tokenizer's vocabulary.
    func tinyModel(qkNorm: Bool = false) throws -> MiniMindVLM {
        let vision = try GenerationTestSupport.tinyVision(seed: 3)
        let lmConfig = LanguageModelConfig(vocabSize: 6400, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 8, numKeyValueHeads: 2,
                                           headDim: 4, intermediateSize: 64, rmsNormEps: 1e-5, maxPositionEmbeddings: 512, qkNorm: qkNorm)
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .linear, imagePlaceholder: "@", imageTokenId: 34)
        let lm = try MiniMindLM(config: lmConfig, seed: 5)
        var g = SeededGenerator(seed: 9)
        for (name, t) in lm.stateDict() where !name.contains("norm") {
            let p = t.mutablePointer
            for i in 0..<t.count { p[i] = 0.3 * g.nextNormal() }
        }
        let model = try MiniMindVLM(config: config, language: lm, projector: LinearProjector(visionDim: 16, hidden: 32, seed: 6), vision: vision)
        model.eval()
        return model
    }

    /// Logits of a fixed prompt with one image (4 placeholder tokens).
    func logits(_ model: MiniMindVLM) throws -> [Float] {
        let pixels = try model.preprocess([try GenerationTestSupport.picture(seed: 2)])
        let ids = [1, 5, 34, 34, 34, 34, 77, 900, 12, 3000, 41]
        return noGrad { model.logits(ids: ids, images: model.project(model.visionFeatures(pixels)), imagesPerSample: [[0]]).toArray() }
    }

    func testKeepingEverythingGivesTheSameLogits() throws {
        for qkNorm in [false, true] {
            let model = try tinyModel(qkNorm: qkNorm)
            let pruned = try StructuredPruning.prune(model, ffnKeep: 1, headsKeep: 1)
            XCTAssertEqual(pruned.config, model.config)
            XCTAssertEqual(try logits(pruned), try logits(model), "qk_norm \(qkNorm)")
        }
    }

    /// Channels and heads whose output weights are zero contribute nothing: removing exactly them
    /// (weight-norm importance 0, and activation importance 0 too) leaves the logits unchanged.
    func testPruningDeadChannelsAndHeadsKeepsTheLogits() throws {
        for qkNorm in [false, true] {
            let model = try tinyModel(qkNorm: qkNorm)
            let lm = try XCTUnwrap(model.language as? MiniMindLM)
            let deadChannels = [[3, 10, 11, 40, 63, 0, 7, 20], [1, 2, 5, 8, 13, 21, 34, 55]]
            let deadHeads = [[0, 2, 5, 7], [1, 3, 4, 6]]  // two per KV group of four
            for (i, block) in lm.model.layers.enumerated() {
                let down = try XCTUnwrap(block.dense).downProj.weight, o = block.selfAttn.oProj.weight
                for r in 0..<32 {
                    for c in deadChannels[i] { down.mutablePointer[r * 64 + c] = 0 }
                    for h in deadHeads[i] { for d in 0..<4 { o.mutablePointer[r * 32 + h * 4 + d] = 0 } }
                }
            }
            let want = try logits(model)
            let byWeights = try StructuredPruning.prune(model, ffnKeep: 56.0 / 64, headsKeep: 0.5)
            XCTAssertEqual(byWeights.config.language.intermediateSize, 56)
            XCTAssertEqual(byWeights.config.language.numAttentionHeads, 4)
            XCTAssertEqual(byWeights.config.language.numKeyValueHeads, 2)
            XCTAssertClose(try logits(byWeights), want, tolerance: 1e-4, relativeToOne, "weights, qk_norm \(qkNorm)")

            let sample = TrainingSample(ids: [1, 5, 34, 34, 34, 34, 77, 900, 12, 3000, 41, 2], labels: Array(repeating: -100, count: 12),
                                        images: [.features(model.visionFeatures(try model.preprocess([try GenerationTestSupport.picture(seed: 4)]))
                                            .reshaped([4, 16]))], name: "calibration")
            let measured = try StructuredPruning.activationImportance(model, samples: [sample], features: nil)
            for i in 0..<2 {
                XCTAssertEqual(deadChannels[i].map { measured.channels[i][$0] }, Array(repeating: 0, count: 8))
                XCTAssertEqual(deadHeads[i].map { measured.heads[i][$0] }, Array(repeating: 0, count: 4))
                XCTAssertTrue((0..<64).filter { !deadChannels[i].contains($0) }.allSatisfy { measured.channels[i][$0] > 0 })
                XCTAssertTrue((0..<8).filter { !deadHeads[i].contains($0) }.allSatisfy { measured.heads[i][$0] > 0 })
            }
            let byActivations = try StructuredPruning.prune(model, ffnKeep: 56.0 / 64, headsKeep: 0.5, importance: measured)
            XCTAssertClose(try logits(byActivations), want, tolerance: 1e-4, relativeToOne, "activations, qk_norm \(qkNorm)")
        }
    }

    /// Weight-norm importance keeps the largest channels: scaling one channel's rows up makes it survive a 1-channel keep.
    func testTheMostImportantUnitsAreKept() throws {
        let model = try tinyModel()
        let lm = try XCTUnwrap(model.language as? MiniMindLM)
        let ffn = try XCTUnwrap(lm.model.layers[1].dense)
        for c in 0..<32 { ffn.gateProj.weight.mutablePointer[37 * 32 + c] *= 10 }
        let importance = try StructuredPruning.weightImportance(lm)
        XCTAssertEqual(StructuredPruning.top(importance.channels[1], 1), [37])
        XCTAssertEqual(StructuredPruning.top([1, 3, 3, 0.5], 2), [1, 2])
        let pruned = try StructuredPruning.prune(model, ffnKeep: 1.0 / 64, headsKeep: 0.25)
        let kept = try XCTUnwrap((pruned.language as? MiniMindLM)?.model.layers[1].dense).gateProj.weight
        XCTAssertEqual(kept.shape, [1, 32])
        XCTAssertEqual(kept.toArray(), Array(ffn.gateProj.weight.toArray()[(37 * 32)..<(38 * 32)]))
        XCTAssertEqual(pruned.config.language.numAttentionHeads, 2)
    }

    func testPrunedFolderLoadsGeneratesAndRoundTrips() throws {
        let model = try tinyModel()
        let pruned = try StructuredPruning.prune(model, ffnKeep: 0.5, headsKeep: 0.5)
        XCTAssertLessThan(pruned.parameterCount(), model.parameterCount())
        let bundle = try VLMBundle(model: pruned, tokenizer: try Tokenizer(contentsOf: Self.assets))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pruned-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try bundle.save(to: folder, tokenizerFiles: Self.assets)
        let loaded = try VLMBundle.load(folder: folder)
        XCTAssertEqual(loaded.model.config.language.intermediateSize, 32)
        XCTAssertEqual(loaded.model.config.language.numAttentionHeads, 4)
        XCTAssertEqual(try logits(loaded.model), try logits(pruned))
        let options = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])
        let a = Generator(bundle: bundle), b = Generator(bundle: loaded)
        let picture = try GenerationTestSupport.picture(seed: 6)
        let ra = try a.generate(try a.chatPrompt("<image>\n这是什么？", images: [.image(picture)]), options: options)
        let rb = try b.generate(try b.chatPrompt("<image>\n这是什么？", images: [.image(picture)]), options: options)
        XCTAssertEqual(ra.ids.count, 6)
        XCTAssertEqual(ra.ids, rb.ids)
        // Saved again from the loaded folder: the same bytes of weights.
        let again = folder.appendingPathComponent("again")
        try loaded.save(to: again, tokenizerFiles: folder)
        XCTAssertEqual(try Data(contentsOf: again.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: folder.appendingPathComponent("model.safetensors")))
    }

    func testOutOfRangeSharesAndMoEAreRefused() throws {
        let model = try tinyModel()
        for (f, h, field) in [(0.0, 1.0, "StructuredPruning.ffnKeep"), (1.5, 1.0, "StructuredPruning.ffnKeep"), (1.0, -1.0, "StructuredPruning.headsKeep"),
                                 (1.0, .nan, "StructuredPruning.headsKeep")] {
            XCTAssertThrowsError(try StructuredPruning.prune(model, ffnKeep: f, headsKeep: h)) {
                XCTAssertEqual(($0 as? InputRangeError)?.field, field)
            }
        }
        var moe = model.config.language
        moe.moe = MoEConfig(flavour: .minimind2, expertIntermediateSize: 64)
        XCTAssertThrowsError(try StructuredPruning.prunedConfig(moe, ffnKeep: 0.5, headsKeep: 1)) {
            guard case .unsupported? = $0 as? ModelError else { return XCTFail("\($0)") }
        }
    }
}
