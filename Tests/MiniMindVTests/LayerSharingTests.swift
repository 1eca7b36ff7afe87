import Foundation
import TestSupport
import XCTest
@testable import MiniMindV

/// `share_block_pairs`: blocks 2k and 2k+1 are one block. Checked against an unshared model that
/// holds copies of the shared blocks (what the shared model must compute), through forward, cached
/// decode, gradients, training, pruning, save and load.
final class LayerSharingTests: XCTestCase {
    static let assets = UpstreamAssets.generation("minimind2-v")

    func languageConfig(share: Bool, layers: Int = 4) -> LanguageModelConfig {
        var c = LanguageModelConfig(vocabSize: 6400, hiddenSize: 32, numHiddenLayers: layers, numAttentionHeads: 4, numKeyValueHeads: 2,
                                    headDim: 8, intermediateSize: 64, rmsNormEps: 1e-5, maxPositionEmbeddings: 512, qkNorm: false)
        c.shareBlockPairs = share
        return c
    }

    /// A shared model with weights ~ N(0, 0.3), and the unshared model loaded from its state dict.
    func pair() throws -> (MiniMindVLM, MiniMindVLM) {
        let vision = try GenerationTestSupport.tinyVision(seed: 3)
        func vlm(_ share: Bool) throws -> MiniMindVLM {
            let lm = languageConfig(share: share)
            let config = VLMConfig(language: lm, vision: vision.config, projector: .linear, imagePlaceholder: "@", imageTokenId: 34)
            return try MiniMindVLM(config: config, language: try MiniMindLM(config: lm, seed: 5),
                                   projector: LinearProjector(visionDim: 16, hidden: 32, seed: 6), vision: vision)
        }
        let shared = try vlm(true)
        var g = SeededGenerator(seed: 9)
        for (name, t) in shared.stateDict() where !name.contains("norm") && !name.hasPrefix("model.layers.1.") && !name.hasPrefix("model.layers.3.") {
            let p = t.mutablePointer
            for i in 0..<t.count { p[i] = 0.3 * g.nextNormal() }
        }
        let copies = try vlm(false)
        try copies.loadReleaseWeights(try StateDict(module: shared))
        return (shared, copies)
    }

    let ids = [1, 5, 34, 34, 34, 34, 77, 900, 12, 3000, 41, 2]

    func logits(_ model: MiniMindVLM) throws -> [Float] {
        let pixels = try model.preprocess([try GenerationTestSupport.picture(seed: 2)])
        return noGrad { model.logits(ids: ids, images: model.project(model.visionFeatures(pixels)), imagesPerSample: [[0]]).toArray() }
    }

    func testPairsAreOneBlockAndComputeAsTheirCopies() throws {
        let (shared, copies) = try pair()
        let lm = try XCTUnwrap(shared.language as? MiniMindLM)
        XCTAssertTrue(lm.model.layers[0] === lm.model.layers[1] && lm.model.layers[2] === lm.model.layers[3])
        XCTAssertFalse(lm.model.layers[0] === lm.model.layers[2])
        let blockParameters = lm.model.layers[0].parameterCount()
        XCTAssertEqual(shared.parameterCount(), copies.parameterCount() - 2 * blockParameters)
        XCTAssertEqual(shared.stateDict().map(\.0), copies.stateDict().map(\.0), "every layer keeps its keys")
        XCTAssertEqual(try logits(shared), try logits(copies))
        // The cached decode path (the last block's k/v and the int8-packed weights included).
        for model in [shared, copies] { (model.language as? MiniMindLM)?.setDecodeDType(.int8) }
        let options = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])
        let tokenizer = try Tokenizer(contentsOf: Self.assets)
        let a = Generator(bundle: try VLMBundle(model: shared, tokenizer: tokenizer))
        let b = Generator(bundle: try VLMBundle(model: copies, tokenizer: tokenizer))
        let picture = try GenerationTestSupport.picture(seed: 6)
        let ra = try a.generate(try a.chatPrompt("<image>\n这是什么？", images: [.image(picture)]), options: options)
        let rb = try b.generate(try b.chatPrompt("<image>\n这是什么？", images: [.image(picture)]), options: options)
        XCTAssertEqual(ra.ids, rb.ids)
        let packed = try XCTUnwrap(shared.language as? MiniMindLM).decodeWeightBytes
        XCTAssertLessThan(packed, try XCTUnwrap(copies.language as? MiniMindLM).decodeWeightBytes, "a shared block is packed once")
    }

    /// The gradient of a shared tensor is the sum of its two copies' gradients; a trainer run keeps the pair one block.
    func testGradientsOfBothUsesAddUpAndTrainingKeepsThePairs() throws {
        let (shared, copies) = try pair()
        let targets = [-100, -100, -100, -100, -100, 77, 900, 12, 3000, 41, 2, -100]
        for model in [shared, copies] { model.loss(ids: ids, targets: targets).backward() }
        let grads = Dictionary(uniqueKeysWithValues: copies.namedParameters().map { ($0.0, $0.1.grad?.toArray() ?? []) })
        for (name, t) in shared.namedParameters() where name.hasPrefix("model.layers.0.") || name.hasPrefix("model.layers.2.") {
            let twin = name.replacingOccurrences(of: "model.layers.0.", with: "model.layers.1.")
                .replacingOccurrences(of: "model.layers.2.", with: "model.layers.3.")
            let want = zip(try XCTUnwrap(grads[name]), try XCTUnwrap(grads[twin])).map { $0 + $1 }
            XCTAssertClose(try XCTUnwrap(t.grad).toArray(), want, tolerance: 1e-5, relativeToOne, name)
        }
        XCTAssertFalse(shared.namedParameters().contains { $0.0.hasPrefix("model.layers.1.") }, "the optimizer sees each shared tensor once")

        var recipe = TrainingRecipe.sft(for: shared.config)
        recipe.learningRate = 1e-2
        recipe.steps = 3
        recipe.saveInterval = 1000
        let sample = TrainingSample(ids: ids, labels: [-100] + targets.dropLast(), name: "s")
        let trainer = try VLMTrainer(model: shared, recipe: recipe, samples: PreparedSamples([sample, sample]))
        let before = try trainer.evaluate([sample])
        _ = try trainer.run()
        XCTAssertLessThan(try trainer.evaluate([sample]), before)
        let state = Dictionary(uniqueKeysWithValues: shared.stateDict().map { ($0.0, $0.1.toArray()) })
        XCTAssertEqual(state["model.layers.1.mlp.up_proj.weight"], state["model.layers.0.mlp.up_proj.weight"])
    }

    func testSaveLoadAndPruneKeepTheSharing() throws {
        let (shared, _) = try pair()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shared-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try VLMBundle(model: shared, tokenizer: try Tokenizer(contentsOf: Self.assets)).save(to: folder, tokenizerFiles: Self.assets)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual((json["language"] as? [String: Any])?["share_block_pairs"] as? Bool, true)
        let loaded = try VLMBundle.load(folder: folder).model
        XCTAssertTrue(loaded.config.language.shareBlockPairs)
        let lm = try XCTUnwrap(loaded.language as? MiniMindLM)
        XCTAssertTrue(lm.model.layers[2] === lm.model.layers[3])
        XCTAssertEqual(try logits(loaded), try logits(shared))
        // A file that lists only the even layers loads too (the odd ones are the same tensors).
        var evenOnly = StateDict()
        for (name, t) in shared.stateDict() where !name.hasPrefix("model.layers.1.") && !name.hasPrefix("model.layers.3.") {
            evenOnly[name] = try TensorData(tensor: t)
        }
        let fresh = try MiniMindVLM(config: shared.config, language: try MiniMindLM(config: shared.config.language, seed: 1),
                                    projector: LinearProjector(visionDim: 16, hidden: 32, seed: 2), vision: shared.vision)
        try fresh.loadReleaseWeights(evenOnly)
        XCTAssertEqual(try logits(fresh), try logits(shared))

        let pruned = try StructuredPruning.prune(shared, ffnKeep: 0.5, headsKeep: 0.5)
        XCTAssertTrue(pruned.config.language.shareBlockPairs)
        let plm = try XCTUnwrap(pruned.language as? MiniMindLM)
        XCTAssertTrue(plm.model.layers[0] === plm.model.layers[1])
        XCTAssertEqual(plm.model.layers[1].dense?.upProj.weight.shape, [32, 32])
    }

    func testConfigurationsThatCannotShareAreRefused() throws {
        XCTAssertThrowsError(try MiniMindLM(config: languageConfig(share: true, layers: 3))) {
            guard case .invalidConfig? = $0 as? ModelError else { return XCTFail("\($0)") }
        }
        var moe = languageConfig(share: true)
        moe.moe = MoEConfig(flavour: .minimind2, expertIntermediateSize: 64)
        XCTAssertThrowsError(try moe.validate()) { guard case .invalidConfig? = $0 as? ModelError else { return XCTFail("\($0)") } }
        // Without sharing the key is absent, so existing config.json files are unchanged.
        let plain = try XCTUnwrap(String(data: try JSONEncoder().encode(languageConfig(share: false)), encoding: .utf8))
        XCTAssertFalse(plain.contains("share_block_pairs"))
        let decoded = try JSONDecoder().decode(LanguageModelConfig.self, from: JSONEncoder().encode(languageConfig(share: true)))
        XCTAssertTrue(decoded.shareBlockPairs)
    }
}
