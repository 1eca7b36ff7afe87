import XCTest
@testable import MiniMindV

/// Objectives, stages and the event stream of `VLMTrainer` (on the parity fixture's tiny VLM).
final class TrainingStagesTests: XCTestCase {
    func setup() throws -> (MiniMindVLM, [TrainingSample], TrainingRecipe) {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<sampleImages.count { samples += try TrainingFixtures.samples(case: "vlm2_sft", micro: m, sampleImages: sampleImages[m]) }
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        var recipe = TrainingRecipe.sft(for: model.config)
        recipe.learningRate = 1e-3
        recipe.batchSize = 4  // 30 samples → 8 micro-batches per epoch
        recipe.saveInterval = 1000
        return (model, samples, recipe)
    }

    /// A run of `steps` optimizer steps: the schedule spans exactly them (the last at base/10) and
    /// the data repeats past the first epoch.
    func testStepsRecipeSpansTheScheduleAcrossEpochs() throws {
        let (model, samples, base) = try setup()
        var recipe = base
        recipe.steps = 11
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples))
        XCTAssertEqual(trainer.epochs, 2)
        var lrs: [Double] = [], epochs: [Int] = []
        trainer.callbacks = [ClosureCallback({ event, _ in
            if case .step(let r) = event { lrs.append(r.lr) }
            if case .epochFinished(let e) = event { epochs.append(e) }
            return .proceed
        })]
        let summary = try trainer.run()
        XCTAssertEqual(summary.steps, 11)
        XCTAssertFalse(summary.stoppedEarly)
        XCTAssertEqual(epochs, [0, 1])
        for (t, lr) in lrs.enumerated() {
            XCTAssertEqual(lr, 1e-3 * (0.1 + 0.45 * (1 + cos(Double.pi * Double(t + 1) / 11))), accuracy: 1e-15)
        }

        // With accumulation 2: 4 steps per epoch, so 5 steps end after the first group of epoch 2
        // (micro-batch 10 of T = 10, base/10).
        recipe.accumulationSteps = 2
        recipe.steps = 5
        var rates: [Double] = []
        let accumulated = try VLMTrainer(model: try setup().0, recipe: recipe, samples: PreparedSamples(samples))
        accumulated.callbacks = [ClosureCallback(onStep: { r, _ in rates.append(r.lr); return .proceed })]
        XCTAssertEqual(try accumulated.run().steps, 5)
        XCTAssertEqual(rates.count, 5)
        XCTAssertEqual(rates.last ?? 0, 1e-4, accuracy: 1e-15)
    }

    /// Two named stages: each is bracketed by its start and finish events, validation comes at the
    /// interval and at the last step with the loss `evaluate` gives, and each stage trains its own set.
    func testStagedRunEmitsEventsInOrder() throws {
        let (model, samples, base) = try setup()
        var first = base, second = base
        first.steps = 2
        first.trainable = ["vision_proj"]
        second.steps = 3
        let held = Array(samples.prefix(6))
        var log: [String] = []
        var trainedInFirst: Set<String> = []
        let recorder = ClosureCallback({ event, trainer in
            switch event {
            case .stageStarted(let s): log.append("start \(s.name) \(s.index)/\(s.count) \(s.totalSteps)")
            case .step(let r): log.append("step \(r.step)")
            case .validation(let v): log.append("validation \(v.step)")
            case .saved: log.append("saved")
            case .epochFinished(let e): log.append("epoch \(e)")
            case .stageFinished(let s, let summary): log.append("finish \(s.name) \(summary.steps)")
            }
            if case .stageStarted(let s) = event, s.index == 0, let t = trainer as? VLMTrainer {
                trainedInFirst = Set(t.optimizer.parameterNames)
            }
            return .proceed
        })
        let results = try VLMTrainer.run(stages: [
            TrainingStage(name: "projector", recipe: first, samples: PreparedSamples(samples)),
            TrainingStage(name: "all", recipe: second, samples: PreparedSamples(samples),
                          validation: TrainingValidation(samples: held, interval: 2)),
        ], model: model, callbacks: [recorder])
        XCTAssertEqual(log, ["start projector 0/2 2", "step 1", "step 2", "epoch 0", "finish projector 2",
                             "start all 1/2 3", "step 1", "step 2", "validation 2", "step 3", "validation 3", "epoch 0",
                             "finish all 3"])
        XCTAssertFalse(trainedInFirst.isEmpty)
        XCTAssertTrue(trainedInFirst.allSatisfy { $0.hasPrefix("vision_proj.") }, "\(trainedInFirst)")
        XCTAssertEqual(results.map(\.name), ["projector", "all"])
        XCTAssertEqual(results[1].summary.validation.map(\.step), [2, 3])
        let check = try VLMTrainer(model: model, recipe: second, samples: PreparedSamples(samples))
        XCTAssertEqual(results[1].summary.validation.last?.loss ?? -1, try check.evaluate(held), accuracy: 1e-6)
    }

    /// The text-only objective is the same cross-entropy path with no images (every token a target
    /// for `languageModeling` samples), and refuses a sample with an image.
    func testLanguageModelObjectiveIsTheTextLoss() throws {
        let (model, samples, _) = try setup()
        let texts = samples.prefix(4).map { s in TrainingSample.languageModeling(ids: s.ids.filter { $0 != model.config.imageTokenId }) }
        let batch = TrainingBatch(texts)
        XCTAssertEqual(batch.targets.filter { $0 != TrainingSample.ignoreLabel }.count, texts.map { $0.ids.count - 1 }.reduce(0, +))
        let lm = try LanguageModelObjective().loss(batch, model: model, features: nil).item
        let direct = model.loss(ids: batch.ids, targets: batch.targets, batch: batch.batch).item
        XCTAssertEqual(lm, direct)
        XCTAssertEqual(try VisionLanguageObjective().loss(batch, model: model, features: nil).item, direct)
        XCTAssertThrowsError(try LanguageModelObjective().loss(TrainingBatch(Array(samples.prefix(2))), model: model, features: nil))
    }

    /// The contrastive objective trains a vision tower (not the VLM) to tell two kinds of image apart
    /// per region, and leaves it frozen.
    func testRegionContrastiveObjectiveTrainsTheTower() throws {
        let (model, _, base) = try setup()
        let side = model.config.vision.imageSize  // the default preprocessing would resize to 224
        let vision = try ViTVisionEncoder(config: model.config.vision, preprocessing: ImagePreprocessing(
            kind: .siglip, resize: .exact(width: side, height: side), resample: .bilinear, crop: nil,
            rescaleFactor: 1.0 / 255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]), seed: 3)
        func image(_ rgb: [UInt8]) throws -> PromptImage {
            let side = model.config.vision.imageSize
            return .encoded(try RGBImage(width: side, height: side, pixels: Array((0..<(side * side)).map { _ in rgb }.joined())).pngData())
        }
        let red = try image([220, 30, 30]), blue = try image([30, 30, 220])
        let samples = (0..<16).map { k in TrainingSample(ids: [0, 0], labels: [-100, -100], images: [k % 2 == 0 ? red : blue], name: "\(k % 2)") }
        let objective = RegionContrastiveObjective(encoder: vision, phrases: [[5, 6], [7]], vocabSize: model.config.language.vocabSize,
                                                   textDim: 16, embedDim: 16, seed: 1) { name in
            [Int](repeating: Int(name) ?? -1, count: vision.outputTokens)
        }
        var recipe = base
        recipe.steps = 60
        recipe.learningRate = 3e-3
        let before = model.namedParameters().map { $0.1.toArray() }
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples), objective: objective)
        XCTAssertTrue(trainer.optimizer.parameterNames.contains { $0.hasPrefix("vision.") })
        XCTAssertTrue(trainer.optimizer.parameterNames.contains { $0.hasPrefix("text_head.") })
        let summary = try trainer.run()
        XCTAssertLessThan(summary.losses.last ?? 1, 0.5 * (summary.losses.first ?? 0))
        XCTAssertEqual(try objective.regionAccuracy(samples), 1)
        XCTAssertEqual(try (objective as any VisionTowerObjective).heldOutScore(samples), 1, "the tower objectives' common held-out score")
        XCTAssertEqual(vision.parameterCount(trainableOnly: true), 0, "the tower is frozen afterwards")
        XCTAssertEqual(model.namedParameters().map { $0.1.toArray() }, before, "the VLM itself does not change")
        let wrong = TrainingSample(ids: [0, 0], labels: [-100, -100], images: [red], name: "7")
        XCTAssertThrowsError(try objective.loss(TrainingBatch([wrong]), model: model, features: nil))
    }
}
