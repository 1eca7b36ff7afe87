import XCTest
@testable import MiniMindV

/// What a model refuses at load, with typed errors in the library's terms: a tokenizer whose ids
/// the embedding has no row for, special ids outside the vocabulary, an untied head missing from
/// the weights. And an untied head is loaded and saved as its own tensor.
final class LoadTimeChecksTests: XCTestCase {
    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loadchecks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A folder with the tiny test tokenizer's tokenizer.json and upstream MiniMind2's
    /// tokenizer_config.json (its chat template and special tokens, which the tiny one has too).
    func tinyTokenizerFolder() throws -> (URL, Tokenizer) {
        let dir = try scratch()
        let sentences = ["the cat sat on the mat", "a picture of a dog in the park", "what is in this image", "hello world"]
        try BPETrainer(vocabSize: 300, specialTokens: GenerationTestSupport.specials, minFrequency: 1)
            .train(Array(repeating: sentences, count: 3).flatMap { $0 }).write(to: dir.appendingPathComponent("tokenizer.json"))
        try FileManager.default.copyItem(at: ConvertRoundTripTests.tokenizerFolder.appendingPathComponent("tokenizer_config.json"),
                                         to: dir.appendingPathComponent("tokenizer_config.json"))
        return (dir, try Tokenizer(contentsOf: dir))
    }

    /// The upstream MiniMind2 tokenizer (6400 ids) beside a 300-row model is refused, naming both sizes,
    /// both when building a bundle and when loading a folder whose tokenizer.json was swapped.
    func testTokenizerLargerThanTheEmbeddingIsRefused() throws {
        let (tinyFiles, tiny) = try tinyTokenizerFolder()
        let model = try GenerationTestSupport.tinyVLM(tokenizer: tiny)
        let upstream = try Tokenizer(contentsOf: ConvertRoundTripTests.tokenizerFolder)
        XCTAssertEqual(upstream.maxTokenID, 6399)
        let rows = model.language.embeddingTable.shape[0]
        XCTAssertThrowsError(try VLMBundle(model: model, tokenizer: upstream)) {
            XCTAssertEqual($0 as? ModelError, .vocabularyMismatch(tokenizer: 6400, model: rows))
            XCTAssertTrue("\($0)".contains("6400") && "\($0)".contains("\(rows)"), "\($0)")
        }
        XCTAssertNoThrow(try VLMBundle(model: model, tokenizer: tiny))

        let folder = try scratch().appendingPathComponent("model")
        try VLMBundle(model: model, tokenizer: tiny).save(to: folder, tokenizerFiles: tinyFiles)
        XCTAssertNoThrow(try VLMBundle.load(folder: folder))
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            try FileManager.default.copyItem(at: ConvertRoundTripTests.tokenizerFolder.appendingPathComponent(name),
                                             to: folder.appendingPathComponent(name))
        }
        XCTAssertThrowsError(try VLMBundle.load(folder: folder)) {
            XCTAssertEqual($0 as? ModelError, .vocabularyMismatch(tokenizer: 6400, model: rows))
        }
    }

    func testSpecialIdsOutsideTheVocabularyAreRefused() throws {
        var lm = GenerationTestSupport.tinyLanguageConfig(vocab: 300)
        XCTAssertNoThrow(try lm.validate())
        lm.eosTokenId = 300
        XCTAssertThrowsError(try lm.validate()) {
            XCTAssertEqual($0 as? ModelError, .tokenIdOutOfRange(name: "eos", id: 300, vocabulary: 300))
        }
        lm.eosTokenId = 2
        lm.padTokenId = -1
        XCTAssertThrowsError(try lm.validate()) {
            XCTAssertEqual($0 as? ModelError, .tokenIdOutOfRange(name: "pad", id: -1, vocabulary: 300))
        }
        lm.padTokenId = 0
        let vision = try GenerationTestSupport.tinyVision(seed: 1)
        let config = VLMConfig(language: lm, vision: vision.config, projector: .linear, imagePlaceholder: "@", imageTokenId: 300)
        XCTAssertThrowsError(try config.validate()) {
            XCTAssertEqual($0 as? ModelError, .tokenIdOutOfRange(name: "image", id: 300, vocabulary: 300))
        }
        // A config.json read from a folder goes through the same check.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(lm)) as? [String: Any] ?? [:]
        json["bos_token_id"] = 4000
        let decoded = try JSONDecoder().decode(LanguageModelConfig.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertThrowsError(try MiniMindLM(config: decoded)) {
            XCTAssertEqual($0 as? ModelError, .tokenIdOutOfRange(name: "bos", id: 4000, vocabulary: 300))
        }
    }

    /// Library errors name no command-line flag (the CLI adds that advice: FlagAdvice).
    func testLibraryErrorsGiveNoFlagAdvice() {
        let errors: [Error] = [
            ModelError.ambiguousConfig("x"), ModelError.noVisionEncoder, ModelError.tokenizerMissing(weights: "w.pth"),
            ModelError.vocabularyMismatch(tokenizer: 2, model: 1), ModelError.tokenIdOutOfRange(name: "eos", id: 9, vocabulary: 3),
            ModelError.unsupported("x"), ModelError.missingFile("f"), ModelError.invalidConfig("x"),
            ModelError.lacksCapability(part: "MyLM", capability: "CompressibleLanguageModel", use: "weight quantization"),
            ConversionError.quantizedNeedsFolder(output: "m.gguf"), ConversionError.configForWeightsFile(output: "m.pth"),
            ConversionError.dtypeForGGUF, ConversionError.ggufNeedsTokenizer, ConversionError.configGivenTwice(input: "dir"),
            ConversionError.quantizedNeedsVisionAndTokenizer,
            ConversionError.presetContradictsConfig(preset: "minimind2-v", differences: ["hidden_size 768 vs 512"]),
            ConversionError.presetContradictsWeights(preset: "minimind2-v", differences: ["hidden_size"]),
            GenerationError.promptTooLong(tokens: 9, context: 8), TrainingDataError.strictStop(row: "data.jsonl line 2", reason: "bad JSON"),
            ChatTemplateError.missingTemplate, ChatTemplateError.unknownTemplate(fingerprint: "ab", excerpt: "{%"),
        ]
        for e in errors { XCTAssertFalse("\(e)".contains("--"), "\(e)") }
    }

    /// Range errors of the library's settings name the settings' own fields (the CLI maps them to flags).
    func testRangeErrorsNameLibraryFields() throws {
        func error(_ body: () throws -> Void) -> Error? { do { try body(); return nil } catch { return error } }
        var scratch = ScratchSettings.preset(.tiny)
        scratch.lmHeads = 3
        var recipe = TrainingRecipe.pretrain(for: VLMPreset.minimind2SmallV.config)
        recipe.earlyStopping = EarlyStopping(patience: 0)
        let cases: [(Error?, String)] = [
            (error { try LoRAConfig(rank: 0).validate() }, "LoRAConfig.rank"),
            (error { try LoRAConfig(targets: ["q*"]).validate() }, "LoRAConfig.targets"),
            (error { try LoRAConfig(modulesToSave: ["a b"]).validate() }, "LoRAConfig.modulesToSave"),
            (error { try scratch.validate() }, "ScratchSettings.lmHeads"),
            (error { try recipe.validate() }, "TrainingRecipe.earlyStopping.patience"),
            (error { var r = TrainingRecipe.sft(for: VLMPreset.minimind2SmallV.config); r.batchSize = 0; try r.validate() }, "TrainingRecipe.batchSize"),
            (error { try SamplingOptions(temperature: -1).validate() }, "SamplingOptions.temperature"),
            (error { try InputRange.setThreads(0) }, "Threads.count"),
        ]
        for (e, field) in cases {
            let e = try XCTUnwrap(e, field)
            XCTAssertEqual((e as? InputRangeError)?.field, field, "\(e)")
            XCTAssertFalse("\(e)".contains("--"), "\(e)")
        }
        XCTAssertThrowsError(try LowRankCompression(target: .energy(2))) {
            XCTAssertEqual($0 as? CompressionError, .outOfRange(field: "LowRankCompression.Target.energy", value: "2.0", allowed: "0 < E ≤ 1"))
        }
    }

    /// tie_word_embeddings false: the head is its own tensor, saved as lm_head.weight and loaded back;
    /// weights without it are refused by the strict load instead of silently reusing the embedding.
    func testUntiedHeadIsSavedLoadedAndRequired() throws {
        let (files, tokenizer) = try tinyTokenizerFolder()
        var lmConfig = GenerationTestSupport.tinyLanguageConfig(vocab: tokenizer.vocabSize)
        lmConfig.tieWordEmbeddings = false
        let vision = try GenerationTestSupport.tinyVision(seed: 1)
        let atId = try XCTUnwrap(tokenizer.tokenToId("@"))
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .linear, imagePlaceholder: "@", imageTokenId: atId)
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: lmConfig, seed: 4),
                                    projector: MiniMindVLM.makeProjector(config, seed: 5), vision: vision)
        let state = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.0, $0.1) })
        let head = try XCTUnwrap(state["lm_head.weight"]), embedding = try XCTUnwrap(state["model.embed_tokens.weight"])
        XCTAssertFalse(head === embedding)
        XCTAssertNotEqual(head.toArray(), embedding.toArray())

        let folder = try scratch().appendingPathComponent("model")
        try VLMBundle(model: model, tokenizer: tokenizer).save(to: folder, tokenizerFiles: files)
        let saved = try Safetensors.read(folder.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try saved["lm_head.weight"].map { try $0.toTensor().toArray() }, head.toArray())
        let loaded = try VLMBundle.load(folder: folder)
        XCTAssertFalse(loaded.model.config.language.tieWordEmbeddings)
        let ids = tokenizer.encode("<|im_start|>user\nhello world<|im_end|>\n")
        XCTAssertEqual(noGrad { loaded.model.logits(ids: ids) }.toArray(), noGrad { model.logits(ids: ids) }.toArray())

        var withoutHead = saved
        withoutHead["lm_head.weight"] = nil
        let fresh = try MiniMindVLM(config: config, language: try MiniMindLM(config: lmConfig),
                                    projector: MiniMindVLM.makeProjector(config, seed: 0), vision: vision)
        XCTAssertThrowsError(try fresh.loadReleaseWeights(withoutHead)) {
            XCTAssertEqual(($0 as? StateDictError)?.missing, ["lm_head.weight"], "\($0)")
        }
    }
}
