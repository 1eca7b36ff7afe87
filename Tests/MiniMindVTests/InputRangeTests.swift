import XCTest
@testable import MiniMindV

/// Numbers from files and from library callers: model configs, resume files, recipes, divergence.
final class InputRangeTests: XCTestCase {
    func folder() throws -> URL { try CLISupport.folder(self) }

    // MARK: model configs

    func testConfigNumbersAreCheckedBeforeAllocating() throws {
        let dir = try folder()
        let model = try CLISupport.tinyModel(in: dir)
        let configURL = model.appendingPathComponent("config.json")
        let original = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        let cases: [(String, Any, String)] = [
            ("hidden_size", 1 << 40, "hidden_size"), ("max_position_embeddings", 1 << 40, "max_position_embeddings"),
            ("num_hidden_layers", 1_000_000_000, "num_hidden_layers"), ("vocab_size", 1 << 62, "vocab_size"),
            ("rope_theta", 0, "rope_theta"), ("vocab_size", Int.max, "vocab_size"), ("num_key_value_heads", 0, "num_key_value_heads"),
        ]
        for (key, value, field) in cases {
            var config = original
            var language = try XCTUnwrap(config["language"] as? [String: Any])
            language[key] = value
            config["language"] = language
            try JSONSerialization.data(withJSONObject: config).write(to: configURL)
            XCTAssertThrowsError(try VLMBundle.load(folder: model), "\(key) = \(value)") { error in
                guard let e = error as? InputRangeError else { return XCTFail("\(key): \(error)") }
                XCTAssertTrue(e.field.hasSuffix(field), e.description)
                XCTAssertTrue(e.description.contains("\(value)") && e.description.contains("allowed"), e.description)
            }
        }
    }

    func testVisionImageSizeAndMissingPreprocessorConfig() throws {
        let dir = try folder()
        let model = try CLISupport.tinyModel(in: dir)
        let visionConfig = model.appendingPathComponent("vision/config.json")
        let original = try Data(contentsOf: visionConfig)
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        json["image_size"] = 100_000
        try JSONSerialization.data(withJSONObject: json).write(to: visionConfig)
        XCTAssertThrowsError(try VLMBundle.load(folder: model)) { error in
            XCTAssertTrue((error as? InputRangeError)?.field.hasSuffix("image_size") == true, "\(error)")
        }
        try original.write(to: visionConfig)
        // The tiny tower takes 32×32 images; without preprocessor_config.json the CLIP default makes 224×224.
        try FileManager.default.removeItem(at: model.appendingPathComponent("vision/preprocessor_config.json"))
        XCTAssertThrowsError(try VLMBundle.load(folder: model)) { error in
            guard case ModelError.incompatible(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("preprocessor_config.json is missing") && why.contains("224×224") && why.contains("32"), why)
        }
    }

    // MARK: sampling

    func testSamplingOptionsRanges() throws {
        XCTAssertThrowsError(try SamplingOptions(temperature: -1).validate()) { XCTAssertTrue("\($0)".contains("SamplingOptions.temperature = -1.0")) }
        XCTAssertThrowsError(try SamplingOptions(maxNewTokens: Int.max).validate()) { XCTAssertTrue("\($0)".contains("SamplingOptions.maxNewTokens")) }
        XCTAssertNoThrow(try SamplingOptions(temperature: 0, maxNewTokens: 0).validate())
    }

    // MARK: recipes and the trainer

    func fixtureTrainer(_ edit: (inout TrainingRecipe) -> Void, output: URL? = nil) throws -> VLMTrainer {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_pretrain"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<2 { samples += try TrainingFixtures.samples(case: "vlm2_pretrain", micro: m, sampleImages: sampleImages[m]) }
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        var recipe = TrainingRecipe.pretrain(for: model.config)
        recipe.batchSize = 3
        recipe.epochs = 1
        recipe.maxSeqLen = 64
        edit(&recipe)
        return try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples), outputDirectory: output)
    }

    func testRecipeRanges() throws {
        let bad: [(String, (inout TrainingRecipe) -> Void)] = [
            ("TrainingRecipe.maxSeqLen", { $0.maxSeqLen = 1 }), ("TrainingRecipe.maxSeqLen", { $0.maxSeqLen = 0 }),
            ("TrainingRecipe.maxSamples", { $0.maxSamples = -1 }), ("TrainingRecipe.epochs", { $0.epochs = Int.max }),
            ("TrainingRecipe.accumulationSteps", { $0.accumulationSteps = Int.max }),
            ("TrainingRecipe.lengthBuckets", { $0.lengthBuckets = Int.max }),
            ("TrainingRecipe.lengthBuckets", { $0.lengthBuckets = -1 }), ("TrainingRecipe.gradClip", { $0.gradClip = .nan }),
            ("TrainingRecipe.warmupSteps", { $0.warmupSteps = -5 }), ("TrainingRecipe.learningRate", { $0.learningRate = .infinity }),
            ("TrainingRecipe.batchSize", { $0.batchSize = 0 }),
            ("TrainingRecipe.maxSeqLen", { $0.maxSeqLen = 1000; $0.padToMaxLength = true }),  // more than the fixture model's 256 positions
        ]
        for (field, edit) in bad {
            XCTAssertThrowsError(try fixtureTrainer(edit), field) { error in
                XCTAssertEqual((error as? InputRangeError)?.field, field, "\(error)")
            }
        }
        XCTAssertNoThrow(try fixtureTrainer { _ in })
    }

    func testFreezingEverythingIsAnError() throws {
        XCTAssertThrowsError(try fixtureTrainer { $0.frozen = ["**"] }) { error in
            guard case TrainingError.nothingToTrain = error else { return XCTFail("\(error)") }
        }
    }

    func testDivergenceStopsBeforeAnythingIsSaved() throws {
        for lr in [1e30, 1e10] {
            let dir = try folder()
            let trainer = try fixtureTrainer({ $0.learningRate = lr; $0.saveInterval = 1 }, output: dir)
            XCTAssertThrowsError(try trainer.run(), "lr \(lr)") { error in
                switch error {
                case TrainingError.nonFiniteWeights(let step, _, _), TrainingError.nonFiniteLoss(let step, _):
                    XCTAssertEqual(step, 1, "\(error)")
                    XCTAssertTrue("\(error)".contains("step 1"), "\(error)")
                default: XCTFail("\(error)")
                }
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "nothing saved at lr \(lr)")
        }
    }

    // MARK: resume files

    func resumeFile(edit: (inout StateDict) throws -> Void) throws -> (VLMTrainer, URL) {
        let dir = try folder()
        let first = try fixtureTrainer({ $0.maxSteps = 1 }, output: dir)
        _ = try first.run()
        let url = dir.appendingPathComponent(first.resumeFileName)
        var state = try Safetensors.read(url)
        try edit(&state)
        try Safetensors.write(state, to: url, metadata: state.metadata)
        return (try fixtureTrainer({ _ in }, output: dir), url)
    }

    func testResumeFileNumbersAreChecked() throws {
        func position(_ json: String) -> (inout StateDict) -> Void { { $0.metadata["position"] = json } }
        let cases: [(String, (inout StateDict) throws -> Void)] = [
            ("optimizerSteps", position(#"{"epoch":0,"microBatch":1,"optimizerSteps":-3}"#)),
            ("optimizerSteps", position(#"{"epoch":0,"microBatch":1,"optimizerSteps":9223372036854775807}"#)),
            ("microBatch", position(#"{"epoch":0,"microBatch":9223372036854775807,"optimizerSteps":1}"#)),
            ("epoch", position(#"{"epoch":9223372036854775807,"microBatch":0,"optimizerSteps":1}"#)),
            ("recipe", { $0.metadata["recipe"] = "not json {" }),
            ("no optimizer state", { state in
                state = StateDict(state.entries.filter { !$0.name.hasPrefix("optimizer.") }.map { ($0.name, $0.tensor) }, metadata: state.metadata)
            }),
            ("optimizer.", { state in
                let key = try XCTUnwrap(state.keys.first { $0.hasPrefix("optimizer.") && $0.hasSuffix(".step") })
                state[key] = try TensorData(tensor: Tensor(shape: [], data: [9.2e18]))
            }),
        ]
        for (what, edit) in cases {
            let (trainer, url) = try resumeFile(edit: edit)
            XCTAssertThrowsError(try trainer.resume(from: url), what) { error in
                guard case TrainingError.resume(_, let reason) = error else { return XCTFail("\(what): \(error)") }
                XCTAssertTrue(reason.contains(what), "\(what): \(reason)")
            }
        }
    }

    // MARK: metrics after a resume

    func testMetricsLogKeepsOneLinePerStepAfterAResume() throws {
        let dir = try folder()
        let metrics = dir.appendingPathComponent("metrics.jsonl")
        let first = try fixtureTrainer({ $0.maxSteps = 1; $0.batchSize = 2 }, output: dir)
        first.callbacks = [try MetricsLogCallback(url: metrics)]
        _ = try first.run()
        // A run killed after logging step 2 but before saving it: the resumed run repeats step 2.
        let handle = try FileHandle(forWritingTo: metrics)
        handle.seekToEndOfFile()
        handle.write(Data((#"{"step":2,"epoch":0,"loss":9}"# + "\n").utf8))
        try handle.close()
        let second = try fixtureTrainer({ $0.batchSize = 2 }, output: dir)
        try second.resume(from: dir.appendingPathComponent(second.resumeFileName))
        second.callbacks = [try MetricsLogCallback(url: metrics)]
        let summary = try second.run()
        let steps = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n").map { line -> Int in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["step"] as? Int ?? -1
        }
        XCTAssertEqual(steps, Array(1...summary.steps))
    }

    // MARK: terminal text

    func testTerminalTextEscapesControlCharacters() {
        XCTAssertEqual(TerminalText.escaped("a\u{1B}[31mb\n\t\u{7F}\u{85}\\é"), "a\\u{1B}[31mb\\n\\t\\u{7F}\\u{85}\\\\é")
        XCTAssertEqual(TerminalText.escaped("model.layers.0.weight"), "model.layers.0.weight")
    }
}
