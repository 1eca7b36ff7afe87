import XCTest
@testable import MiniMindV

/// Interrupt + resume gives the same losses as a straight run; checkpoints have the upstream layout;
/// metrics and the loss curve are written.
final class TrainingResumeTests: XCTestCase {
    func makeFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmv-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func setup() throws -> (() throws -> MiniMindVLM, [TrainingSample], TrainingRecipe) {
        let cases = try TrainingFixtures.cases()
        let c = try XCTUnwrap(cases["vlm2_sft"])
        let lmConfig = try XCTUnwrap(c["lm_config"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<sampleImages.count { samples += try TrainingFixtures.samples(case: "vlm2_sft", micro: m, sampleImages: sampleImages[m]) }
        let make = { try TrainingFixtures.model(kind: "vlm2", lmConfig: lmConfig) }
        var recipe = TrainingRecipe.sft(for: try make().config)
        recipe.learningRate = 1e-3
        recipe.batchSize = 4          // 30 samples → 8 micro-batches per epoch, the last one of 2
        recipe.accumulationSteps = 3  // → 3 optimizer steps per epoch, the last one of 2 micro-batches
        recipe.epochs = 2
        recipe.saveInterval = 1000
        return (make, samples, recipe)
    }

    func testInterruptedRunResumesToTheSameLosses() throws {
        let (make, samples, recipe) = try setup()
        let straightTrainer = try VLMTrainer(model: try make(), recipe: recipe, samples: PreparedSamples(samples))
        let straight = try straightTrainer.run()
        XCTAssertEqual(straight.steps, 6)
        XCTAssertFalse(straight.stoppedEarly)

        let dir = try makeFolder()
        var first = recipe
        first.maxSteps = 4  // stops inside epoch 2, after its first step
        let interrupted = try VLMTrainer(model: try make(), recipe: first, samples: PreparedSamples(samples), outputDirectory: dir)
        let part = try interrupted.run()
        XCTAssertTrue(part.stoppedEarly)
        XCTAssertEqual(part.losses, Array(straight.losses.prefix(4)))

        let resumed = try VLMTrainer(model: try make(), recipe: recipe, samples: PreparedSamples(samples), outputDirectory: dir)
        try resumed.resume(from: dir.appendingPathComponent(resumed.resumeFileName))
        XCTAssertEqual(resumed.position.optimizerSteps, 4)
        let rest = try resumed.run()
        XCTAssertEqual(rest.losses, straight.losses, "resumed losses equal the straight run's, bit for bit")
        XCTAssertEqual(rest.steps, 6)
        // Not only the losses: the weights and the optimizer state end bit-identical too.
        let straightWeights = Dictionary(uniqueKeysWithValues: straightTrainer.model.namedParameters().map { ($0.0, $0.1.toArray()) })
        let resumedWeights = resumed.model.namedParameters()
        XCTAssertEqual(resumedWeights.count, straightWeights.count)
        for (key, p) in resumedWeights {
            XCTAssertEqual(p.toArray(), try XCTUnwrap(straightWeights[key]), "weight \(key) after resume")
        }
        let straightState = straightTrainer.optimizer.stateTensors()
        let resumedState = Dictionary(uniqueKeysWithValues: resumed.optimizer.stateTensors().map { ($0.0, $0.1.toArray()) })
        XCTAssertFalse(straightState.isEmpty)
        XCTAssertEqual(Set(resumedState.keys), Set(straightState.map(\.0)))
        for (key, t) in straightState {
            XCTAssertEqual(resumedState[key], t.toArray(), "optimizer state \(key) after resume")
        }
    }

    func testAStepsRunEndingInsideAnEpochLeavesAResumableFile() throws {
        let (make, samples, base) = try setup()
        var recipe = base
        recipe.steps = 4  // 3 steps per epoch: the run ends after the first step of epoch 2
        let dir = try makeFolder()
        let done = try VLMTrainer(model: try make(), recipe: recipe, samples: PreparedSamples(samples), outputDirectory: dir).run()
        XCTAssertEqual(done.steps, 4)
        let again = try VLMTrainer(model: try make(), recipe: recipe, samples: PreparedSamples(samples), outputDirectory: dir)
        try again.resume(from: dir.appendingPathComponent(again.resumeFileName))
        XCTAssertEqual(again.position.optimizerSteps, 4)
        XCTAssertEqual(try again.run().losses, done.losses, "a finished run resumes to nothing more")
    }

    func testResumeRejectsADifferentBatchSize() throws {
        let (make, samples, recipe) = try setup()
        let dir = try makeFolder()
        var first = recipe
        first.maxSteps = 1
        _ = try VLMTrainer(model: try make(), recipe: first, samples: PreparedSamples(samples), outputDirectory: dir).run()
        var other = recipe
        other.batchSize = 5
        let t = try VLMTrainer(model: try make(), recipe: other, samples: PreparedSamples(samples), outputDirectory: dir)
        XCTAssertThrowsError(try t.resume(from: dir.appendingPathComponent(t.resumeFileName))) { error in
            XCTAssertTrue("\(error)".contains("batch 4"), "\(error)")
        }
    }

    func testCheckpointsMetricsAndLossCurve() throws {
        let (make, samples, recipe) = try setup()
        let dir = try makeFolder()
        var r = recipe
        r.saveInterval = 2
        r.maxSteps = 3
        let trainer = try VLMTrainer(model: try make(), recipe: r, samples: PreparedSamples(samples), outputDirectory: dir)
        let metrics = dir.appendingPathComponent("metrics.jsonl")
        trainer.callbacks = [try MetricsLogCallback(url: metrics)]
        let summary = try trainer.run()
        // Release weights as upstream writes them: sft_vlm_{hidden}.pth, fp16, no vision keys.
        let pth = dir.appendingPathComponent("sft_vlm_32.pth")
        let state = try PTHFile.load(pth)
        XCTAssertTrue(state.entries.allSatisfy { $0.tensor.dtype == .f16 })
        XCTAssertFalse(state.keys.contains { $0.hasPrefix("vision") && !$0.hasPrefix("vision_proj.") })
        XCTAssertEqual(Set(state.keys), Set(trainer.model.stateDict().map(\.0)))
        let embed = try XCTUnwrap(state["model.embed_tokens.weight"]).toTensor()
        let live = trainer.model.language.embeddingTable
        XCTAssertLessThanOrEqual(zip(embed.toArray(), live.toArray()).map { abs($0 - $1) / max(abs($1), 1e-3) }.max() ?? 1, 1e-3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("sft_vlm_32.safetensors").path))
        // One JSON line per optimizer step with step, loss, lr.
        let lines = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        for (i, line) in lines.enumerated() {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(obj["step"] as? Int, i + 1)
            XCTAssertEqual(try XCTUnwrap(obj["loss"] as? Double), summary.losses[i], accuracy: 1e-12)
            XCTAssertNotNil(obj["lr"] as? Double)
        }
        let svg = try String(contentsOf: dir.appendingPathComponent("sft_vlm_32_loss.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("<polyline"))
        XCTAssertEqual(svg.components(separatedBy: "<polyline")[1].split(separator: " ").filter { $0.contains(",") }.count, 3)
    }

    func testScheduleSetsTheUpstreamRateAtEveryMicroStep() throws {
        let (make, samples, recipe) = try setup()
        var lrs: [Double] = []
        let trainer = try VLMTrainer(model: try make(), recipe: recipe, samples: PreparedSamples(samples))
        trainer.callbacks = [ClosureCallback(onStep: { r, _ in lrs.append(r.lr); return .proceed })]
        _ = try trainer.run()
        // 8 micro-batches per epoch, 16 in all, numbered from 1 as upstream does; steps end at
        // micro-batches 3, 6, 8 of each epoch, so the last step uses t = T = 16 (base/10).
        let t = [3, 6, 8, 11, 14, 16]
        XCTAssertEqual(lrs.count, t.count, "one rate per optimizer step")
        XCTAssertEqual(lrs.last ?? 0, 1e-4, accuracy: 1e-15)
        for (got, step) in zip(lrs, t) {
            XCTAssertEqual(got, 1e-3 * (0.1 + 0.45 * (1 + cos(Double.pi * Double(step) / 16))), accuracy: 1e-15)
        }
    }

    /// The learning rates upstream's own pretrain loop printed for its first four steps (MiniMind2-V,
    /// its tiny data: 4 samples, batch 2, lr 4e-4, 4 epochs → T = 8, no shuffle): t starts at 1.
    func testFirstStepsUseUpstreamsLoggedRates() throws {
        let (make, samples, _) = try setup()
        let model = try make()
        var recipe = TrainingRecipe.pretrain(for: model.config)
        recipe.learningRate = 4e-4
        recipe.batchSize = 2
        recipe.epochs = 4
        recipe.shuffle = false
        recipe.maxSteps = 4
        var lrs: [Double] = []
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(Array(samples.prefix(4))))
        trainer.callbacks = [ClosureCallback(onStep: { r, _ in lrs.append(r.lr); return .proceed })]
        _ = try trainer.run()
        let upstream = [3.863e-4, 3.473e-4, 2.889e-4, 2.200e-4]  // printed to 4 digits
        XCTAssertEqual(lrs.count, upstream.count)
        for (got, want) in zip(lrs, upstream) { XCTAssertEqual(got, want, accuracy: 5e-8) }
    }
}
