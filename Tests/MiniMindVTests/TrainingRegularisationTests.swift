import XCTest
@testable import MiniMindV

/// Label smoothing, per-token weights, dropout and early stopping (Docs/Training.md, "When the
/// model goes wrong"): the losses against PyTorch (Tests/Fixtures/remedies) and a Double reference.
final class TrainingRegularisationTests: XCTestCase {
    // MARK: label smoothing and weights

    func testLabelSmoothingMatchesPyTorch() throws {
        let s = try RemedyFixtures.section("smoothing")
        let rows = try XCTUnwrap(s["rows"] as? Int), vocab = try XCTUnwrap(s["vocab"] as? Int)
        let logits = Tensor(shape: [rows, vocab], data: try RemedyFixtures.floats(s, "logits"))
        logits.requiresGrad = true
        let targets = try XCTUnwrap(s["targets"] as? [Int])
        let loss = crossEntropy(logits: logits, targets: targets, labelSmoothing: Float(try XCTUnwrap(s["epsilon"] as? Double)))
        loss.backward()
        XCTAssertEqual(Double(loss.item), try XCTUnwrap(s["loss"] as? Double), accuracy: 2e-6)
        RemedyFixtures.assertClose(try XCTUnwrap(logits.grad).toArray(), try RemedyFixtures.floats(s, "grad"), tol: 1e-6, "dL/dlogits")
    }

    /// Per-token weights: against PyTorch (weighted per-row smoothed CE / counted rows) and against
    /// the definition written out in Double here.
    func testWeightedLossAndGradientMatchReferences() throws {
        let s = try RemedyFixtures.section("smoothing"), w = try RemedyFixtures.section("weighted")
        let rows = try XCTUnwrap(s["rows"] as? Int), v = try XCTUnwrap(s["vocab"] as? Int)
        let x = try RemedyFixtures.doubles(s, "logits"), targets = try XCTUnwrap(s["targets"] as? [Int])
        let eps = try XCTUnwrap(s["epsilon"] as? Double), weights = try RemedyFixtures.doubles(w, "weights")
        let logits = Tensor(shape: [rows, v], data: x.map(Float.init))
        logits.requiresGrad = true
        let loss = crossEntropy(logits: logits, targets: targets, labelSmoothing: Float(eps), weights: weights.map(Float.init))
        loss.backward()
        XCTAssertEqual(Double(loss.item), try XCTUnwrap(w["loss"] as? Double), accuracy: 2e-6)
        let grad = try XCTUnwrap(logits.grad).toArray()
        RemedyFixtures.assertClose(grad, try RemedyFixtures.floats(w, "grad"), tol: 1e-6, "weighted dL/dlogits vs PyTorch")

        // Double: ℓ_r = lse − (1−ε)x_t − ε·mean(x); L = Σ w_r ℓ_r / counted; dL/dx = w(p − (1−ε)δ − ε/V)/counted.
        let counted = Double(targets.filter { $0 != -100 }.count)
        var total = 0.0, expected = [Double](repeating: 0, count: rows * v)
        for r in 0..<rows where targets[r] != -100 {
            let row = Array(x[(r * v)..<((r + 1) * v)]), m = row.max()!
            let lse = log(row.map { exp($0 - m) }.reduce(0, +)) + m
            total += weights[r] * (lse - (1 - eps) * row[targets[r]] - eps * row.reduce(0, +) / Double(v))
            for j in 0..<v {
                expected[r * v + j] = weights[r] * (exp(row[j] - lse) - (j == targets[r] ? 1 - eps : 0) - eps / Double(v)) / counted
            }
        }
        XCTAssertEqual(Double(loss.item), total / counted, accuracy: 2e-6)
        RemedyFixtures.assertClose(grad, expected.map(Float.init), tol: 1e-6, "weighted dL/dlogits vs Double")
    }

    /// ε = 0 with every weight 1 is the plain fused cross-entropy.
    func testUnitWeightsWithoutSmoothingAreThePlainLoss() throws {
        var g = SeededGenerator(seed: 3)
        let logits = Tensor.randn([6, 17], std: 2, generator: &g)
        let targets = [1, -100, 16, 0, 5, -100]
        let plain = crossEntropy(logits: logits, targets: targets).item
        XCTAssertEqual(crossEntropy(logits: logits, targets: targets, weights: [Float](repeating: 1, count: 6)).item, plain, accuracy: 1e-6)
    }

    /// Answer tokens, template tokens (the end marker) and the source weight, by the definition.
    func testSampleWeightsFollowTheRule() {
        let ids = [5, 6, 7, 8, 9, 2, 3, 4]
        let labels = [-100, -100, -100, 8, 9, 2, 3, -100]
        let w = SampleBuilder.weights(ids: ids, labels: labels, template: [[2, 3]], rule: LossWeights(answer: 2, template: 0.5, sources: ["vqa": 3]),
                                      source: "vqa")
        XCTAssertEqual(w, [0, 0, 0, 6, 6, 1.5, 1.5, 0])
        let other = SampleBuilder.weights(ids: ids, labels: labels, template: [[2, 3]], rule: LossWeights(answer: 2, template: 0.5, sources: ["vqa": 3]),
                                          source: "caption")
        XCTAssertEqual(other, [0, 0, 0, 2, 2, 0.5, 0.5, 0])
    }

    /// The batch's target weights are the samples' weights shifted like the labels, 1 for samples without.
    func testBatchWeightsAreShiftedLikeTargets() {
        var a = TrainingSample(ids: [1, 2, 3, 4], labels: [-100, -100, 3, 4])
        a.lossWeights = [0, 0, 2, 5]
        let b = TrainingSample(ids: [1, 2, 3], labels: [-100, 2, 3])
        let batch = TrainingBatch([a, b])
        XCTAssertEqual(batch.length, 3)
        XCTAssertEqual(batch.targets, [-100, 3, 4, 2, 3, -100])
        XCTAssertEqual(batch.targetWeights, [0, 2, 5, 1, 1, 1])
    }

    // MARK: dropout

    /// The parity fixture's tiny MiniMind2-V with its 30 samples (images as features), lr 1e-3, batch 4.
    static func tinyModel() throws -> (MiniMindVLM, [TrainingSample], TrainingRecipe) {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<sampleImages.count { samples += try TrainingFixtures.samples(case: "vlm2_sft", micro: m, sampleImages: sampleImages[m]) }
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        var recipe = TrainingRecipe.sft(for: model.config)
        recipe.learningRate = 1e-3
        recipe.batchSize = 4
        recipe.saveInterval = 1000
        return (model, samples, recipe)
    }

    func tinyModel() throws -> (MiniMindVLM, [TrainingSample], TrainingRecipe) { try Self.tinyModel() }

    /// In eval mode the logits with p = 0.5 are those without dropout, bit for bit; in training mode
    /// the same seed gives the same loss and another seed another.
    func testDropoutOffAtInferenceAndSeededInTraining() throws {
        let (model, samples, _) = try tinyModel()
        let lm = try XCTUnwrap(model.language as? MiniMindLM)
        let batch = TrainingBatch(Array(samples.prefix(3)))
        model.eval()
        let plain = try noGrad { try model.loss(batch, features: nil).item }
        let plainLogits = model.logits(ids: batch.ids, batch: batch.batch).toArray()
        lm.trainingDropout = TrainingDropout(p: 0.5, seed: 1)
        XCTAssertEqual(try noGrad { try model.loss(batch, features: nil).item }, plain)
        XCTAssertEqual(model.logits(ids: batch.ids, batch: batch.batch).toArray(), plainLogits)

        model.train()
        func trainingLoss(seed: UInt64) throws -> Float {
            lm.trainingDropout?.reseed(seed)
            return try noGrad { try model.loss(batch, features: nil).item }
        }
        let first = try trainingLoss(seed: 7)
        XCTAssertEqual(try trainingLoss(seed: 7), first)
        XCTAssertNotEqual(try trainingLoss(seed: 8), first)
        XCTAssertNotEqual(first, plain)
        lm.trainingDropout = nil
        XCTAssertEqual(try noGrad { try model.loss(batch, features: nil).item }, plain)
        model.eval()
    }

    /// The share of elements kept is ≈ 1 − p and the survivors are scaled by 1 / (1 − p).
    func testDropoutKeepsOneMinusPScaled() {
        let d = TrainingDropout(p: 0.3, seed: 11)
        let y = d(Tensor(shape: [20_000], data: [Float](repeating: 1, count: 20_000)), training: true).toArray()
        let kept = y.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 20_000, 0.7, accuracy: 0.015)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.7) < 1e-6 })
        XCTAssertEqual(d(Tensor(shape: [3], data: [1, 2, 3]), training: false).toArray(), [1, 2, 3])
    }

    /// A run with dropout is reproducible from the recipe's seed, differs from one without, leaves
    /// the model in eval mode without dropout, and validation measures the plain loss.
    func testTrainerDropoutIsReproducible() throws {
        func run(dropout: Double?, seed: UInt64 = 42) throws -> [Double] {
            let (model, samples, base) = try tinyModel()
            var recipe = base
            recipe.steps = 2
            recipe.dropout = dropout
            recipe.seed = seed
            let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples))
            let losses = try trainer.run().losses
            XCTAssertNil((model.language as? MiniMindLM)?.trainingDropout)
            XCTAssertFalse(model.isTraining)
            return losses
        }
        let a = try run(dropout: 0.2), b = try run(dropout: 0.2)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, try run(dropout: nil))
    }

    // MARK: early stopping, projector LR, ranges

    func testEarlyStoppingRule() {
        var state = EarlyStoppingState()
        let rule = EarlyStopping(patience: 2, minDelta: 0.1)
        XCTAssertEqual(state.observe(ValidationPoint(step: 1, loss: 3.0), rule: rule).improved, true)
        XCTAssertEqual(state.observe(ValidationPoint(step: 2, loss: 2.95), rule: rule).improved, false)  // within min delta
        XCTAssertEqual(state.observe(ValidationPoint(step: 3, loss: 2.5), rule: rule).improved, true)
        XCTAssertEqual(state.observe(ValidationPoint(step: 4, loss: 2.6), rule: rule).stop, false)
        XCTAssertEqual(state.observe(ValidationPoint(step: 5, loss: 2.45), rule: rule).stop, true)
        XCTAssertEqual(state.bestStep, 3)
        XCTAssertEqual(state.bestLoss, 2.5)
    }

    /// A run whose validation cannot improve after the first check stops after `patience` more
    /// checks, with the first check's weights kept as the best file.
    func testTrainerStopsEarlyAndKeepsTheBest() throws {
        let (model, samples, base) = try tinyModel()
        var recipe = base
        recipe.steps = 10
        recipe.earlyStopping = EarlyStopping(patience: 2, minDelta: 1e9)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("remedies-early-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples), outputDirectory: dir)
        XCTAssertThrowsError(try trainer.run())  // early stopping needs validation samples
        trainer.validation = TrainingValidation(samples: Array(samples.prefix(4)), interval: 1)
        let summary = try trainer.run()
        XCTAssertEqual(summary.steps, 3)
        XCTAssertTrue(summary.stoppedEarly)
        XCTAssertTrue(trainer.stoppedByEarlyStopping)
        XCTAssertEqual(summary.bestValidation?.step, 1)
        XCTAssertEqual(summary.bestValidation?.loss, summary.validation.first?.loss)
        let best = try Safetensors.read(dir.appendingPathComponent(trainer.releaseBaseName + "_best.safetensors"))
        XCTAssertEqual(best.metadata["step"], "1")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(trainer.bestWeightsFileName).path))
    }

    /// `lrScales` is a parameter group with lr · scale; the trainer gives the projector the recipe's ratio.
    func testProjectorLearningRateRatio() throws {
        func stepped(lr: Double, scale: Double) -> [Float] {
            let p = Tensor(shape: [4], data: [1, -2, 3, 0.5])
            p.requiresGrad = true
            let opt = AdamW(parameters: [("w", p)], lr: lr)
            opt.lrScales = [scale]
            for _ in 0..<3 {
                p.grad = Tensor(shape: [4], data: [0.3, -0.1, 0.7, 0.2])
                opt.step()
            }
            return p.toArray()
        }
        XCTAssertEqual(stepped(lr: 0.125, scale: 4), stepped(lr: 0.5, scale: 1))  // powers of two: the same Double lr
        XCTAssertNotEqual(stepped(lr: 0.125, scale: 4), stepped(lr: 0.125, scale: 1))

        let (model, samples, base) = try tinyModel()
        var recipe = base
        recipe.projectorLRRatio = 10
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples))
        for (name, scale) in zip(trainer.optimizer.parameterNames, trainer.optimizer.lrScales) {
            XCTAssertEqual(scale, name.hasPrefix("vision_proj.") ? 10 : 1, name)
        }
        XCTAssertTrue(trainer.optimizer.parameterNames.contains { $0.hasPrefix("vision_proj.") })
    }

    func testRemedyNumbersAreRangeChecked() throws {
        let (_, _, base) = try tinyModel()
        func field(_ change: (inout TrainingRecipe) -> Void) -> String? {
            var r = base
            change(&r)
            do { try r.validate(); return nil } catch let e as InputRangeError { return e.field } catch { return "\(error)" }
        }
        XCTAssertEqual(field { $0.dropout = 1 }, "TrainingRecipe.dropout")
        XCTAssertEqual(field { $0.dropout = -0.1 }, "TrainingRecipe.dropout")
        XCTAssertEqual(field { $0.labelSmoothing = .nan }, "TrainingRecipe.labelSmoothing")
        XCTAssertEqual(field { $0.labelSmoothing = 1.5 }, "TrainingRecipe.labelSmoothing")
        XCTAssertEqual(field { $0.earlyStopping = EarlyStopping(patience: 0) }, "TrainingRecipe.earlyStopping.patience")
        XCTAssertEqual(field { $0.earlyStopping = EarlyStopping(patience: 3, minDelta: -1) }, "TrainingRecipe.earlyStopping.minDelta")
        XCTAssertEqual(field { $0.lossWeights = LossWeights(answer: -1) }, "TrainingRecipe.lossWeights.answer")
        XCTAssertEqual(field { $0.lossWeights = LossWeights(template: .infinity) }, "TrainingRecipe.lossWeights.template")
        XCTAssertEqual(field { $0.lossWeights = LossWeights(sources: ["vqa": .nan]) }, "TrainingRecipe.lossWeights.sources[vqa]")
        XCTAssertEqual(field { $0.projectorLRRatio = -2 }, "TrainingRecipe.projectorLRRatio")
        XCTAssertNil(field { $0.dropout = 0.1; $0.labelSmoothing = 0.1; $0.projectorLRRatio = 5 })
    }
}
