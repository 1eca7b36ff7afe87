import XCTest
import MiniMindV  // the public API only: what a Swift program that brings its own language model sees

/// A user-defined language model: a bigram table (embedding → Linear head, no attention). It has the
/// `LanguageModel` seam and none of the optional capabilities of ModelCapabilities.swift.
final class BigramLM: Module, LanguageModel {
    let config: LanguageModelConfig
    let table: Embedding
    let head: Linear

    init(config: LanguageModelConfig, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        self.config = config
        table = Embedding(config.vocabSize, config.hiddenSize, generator: &g)
        head = Linear(config.hiddenSize, config.vocabSize, bias: false, generator: &g)
        super.init()
        register(child: "table", table)
        register(child: "head", head)
    }

    var embeddingTable: Tensor { table.weight }
    var auxiliaryLoss: Tensor? { nil }
    var decodeDType: DecodeDType { .f32 }
    func setDecodeDType(_ dtype: DecodeDType) {}

    func embed(_ ids: [Int], batch: Int) -> Tensor { table(ids, shape: [batch, ids.count / batch]) }

    func logits(embeddings: Tensor, keyPaddingMask: Tensor?) -> Tensor { head(embeddings) }

    func logits(embeddings: Tensor, keyPaddingMask: Tensor?, rows: [Int]) -> Tensor {
        head(indexSelect(embeddings.reshaped([embeddings.count / config.hiddenSize, config.hiddenSize]), axis: 0, indices: rows))
    }

    // A bigram needs no history: the cache is not read.
    func logits(embeddings: Tensor, cache: KVCache, keyMask: [Float]?, positions: LogitPositions) -> Tensor {
        let t = embeddings.shape[1]
        return noGrad { head(positions == .last ? embeddings.slice(axis: 1, (t - 1)..<t) : embeddings) }
    }

    func lastLogits(packed embeddings: Tensor, counts: [Int], caches: [KVCache]) -> Tensor {
        let lasts = counts.indices.map { counts[...$0].reduce(0, +) - 1 }
        return noGrad { head(indexSelect(embeddings.reshaped([embeddings.count / config.hiddenSize, config.hiddenSize]),
                                         axis: 0, indices: lasts)) }
    }

    func makeCache(batch: Int, maxLength: Int) -> KVCache {
        KVCache(layers: 0, batch: batch, kvHeads: 1, headDim: 1, maxLength: maxLength)
    }
}

/// The passes beyond the seam (LoRA, pruning, grounding, quantisation, the bundle's compression
/// facts) reach the language model through capability protocols, never a cast to `MiniMindLM`: a
/// user-defined model without a capability gets a typed error, and `MiniMindLM` goes the same route.
final class UserDefinedLanguageModelTests: XCTestCase {
    func vlm(_ language: (LanguageModelConfig) throws -> any LanguageModel) throws -> (MiniMindVLM, Tokenizer) {
        let tokenizer = try Tokenizer(contentsOf: ConvertRoundTripTests.tokenizerFolder)  // MiniMind's, with its chat template
        let vision = try GenerationTestSupport.tinyVision(seed: 1)
        let lmConfig = GenerationTestSupport.tinyLanguageConfig(vocab: tokenizer.vocabSize)
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .linear, imagePlaceholder: "@",
                               imageTokenId: try XCTUnwrap(tokenizer.tokenToId("@")))
        let model = try MiniMindVLM(config: config, language: try language(lmConfig),
                                    projector: MiniMindVLM.makeProjector(config, seed: 2), vision: vision)
        return (model, tokenizer)
    }

    func batch(_ tokenizer: Tokenizer) -> TrainingBatch {
        let ids = tokenizer.encode("the cat sat on the mat")
        return TrainingBatch([TrainingSample(ids: ids, labels: [TrainingSample.ignoreLabel] + ids.dropFirst(), images: [], name: "text")])
    }

    func testPartWithoutCapabilitiesGetsTypedErrors() throws {
        let (model, tokenizer) = try vlm { BigramLM(config: $0, seed: 3) }
        // The seam itself works: a forward through the user's model.
        let ids = tokenizer.encode("the cat")
        XCTAssertEqual(model.logits(ids: ids, images: nil, imagesPerSample: []).shape, [1, ids.count, tokenizer.vocabSize])

        let lacks = { (capability: String, use: String) in ModelError.lacksCapability(part: "BigramLM", capability: capability, use: use) }
        XCTAssertThrowsError(try model.attachLoRA(LoRAConfig(rank: 2), seed: 1)) {
            guard case LoRAError.notAdaptable = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertTrue(model.loraLayers.isEmpty)
        XCTAssertThrowsError(try StructuredPruning.prune(model, ffnKeep: 0.5, headsKeep: 1)) {
            XCTAssertEqual($0 as? ModelError, lacks("DecoderBlockLanguageModel", "structured pruning"))
        }
        XCTAssertThrowsError(try StructuredPruning.activationImportance(model, samples: [], features: nil)) {
            XCTAssertEqual($0 as? ModelError, lacks("DecoderBlockLanguageModel", "structured pruning"))
        }
        model.train()
        XCTAssertThrowsError(try GroundingObjective(weight: 1).loss(batch(tokenizer), model: model, features: nil)) {
            XCTAssertEqual($0 as? ModelError, lacks("HiddenStatesLanguageModel", "the grounding objective"))
        }
        XCTAssertThrowsError(try model.language.capability((any CompressibleLanguageModel).self, for: "weight quantization")) {
            XCTAssertEqual($0 as? ModelError, lacks("CompressibleLanguageModel", "weight quantization"))
            XCTAssertEqual("\($0)", "weight quantization needs a language model that is a CompressibleLanguageModel; BigramLM is not")
        }
        // A bundle of it saves: without the capability there are no quantised or low-rank layers to record.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bigram-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try VLMBundle(model: model, tokenizer: tokenizer).save(to: folder, tokenizerFiles: ConvertRoundTripTests.tokenizerFolder)
        let saved = try JSONDecoder().decode(VLMConfig.self, from: Data(contentsOf: folder.appendingPathComponent("config.json")))
        XCTAssertNil(saved.quantization)
        XCTAssertNil(saved.lowRank)
    }

    func testMiniMindLMTakesTheProtocolRoute() throws {
        let (model, tokenizer) = try vlm { try MiniMindLM(config: $0, seed: 3) }
        let blocks = try model.language.capability((any DecoderBlockLanguageModel).self, for: "structured pruning").decoderBlocks
        XCTAssertEqual(blocks.count, model.config.language.numHiddenLayers)
        let pruned = try StructuredPruning.prune(model, ffnKeep: 0.5, headsKeep: 1)
        XCTAssertEqual(pruned.config.language.intermediateSize, model.config.language.intermediateSize / 2)
        XCTAssertTrue(pruned.language is MiniMindLM, "makeEmpty builds the same kind of model")

        model.train()
        let loss = try GroundingObjective(weight: 1).loss(batch(tokenizer), model: model, features: nil)
        XCTAssertTrue(loss.item.isFinite)

        let paths = try model.attachLoRA(LoRAConfig(rank: 2, targets: ["q_proj", "vision_proj"]), seed: 1)
        XCTAssertEqual(paths.count, model.config.language.numHiddenLayers + 1, "every q_proj and the linear projector's layer")
        XCTAssertThrowsError(try vlm { try MiniMindLM(config: $0, seed: 3) }.0.attachLoRA(LoRAConfig(rank: 2, targets: ["lm_head"]), seed: 1)) {
            XCTAssertEqual($0 as? LoRAError, .tiedHead, "the tied head is found through the swapped layers")
        }
        XCTAssertNoThrow(try model.language.capability((any CompressibleLanguageModel).self, for: "weight quantization"))
    }
}
