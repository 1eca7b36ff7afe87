import Foundation
import TestSupport
import XCTest
@testable import MiniMindV

/// `distillationLoss` against PyTorch (Scripts/gen_distill_fixture.py) and an analytic Double
/// reference, and `DistillationObjective` on the training fixture's tiny VLM.
final class DistillationTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/distill/distill_loss.json")

    func testLossAndGradientMatchPyTorch() throws {
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture)) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 5)
        for c in cases {
            let name = try XCTUnwrap(c["name"] as? String)
            let rows = try XCTUnwrap(c["rows"] as? Int), vocab = try XCTUnwrap(c["vocab"] as? Int)
            let floats = { (key: String) throws -> [Float] in try XCTUnwrap(c[key] as? [Double]).map(Float.init) }
            let s = Tensor(shape: [rows, vocab], data: try floats("student"), requiresGrad: true)
            let t = Tensor(shape: [rows, vocab], data: try floats("teacher"))
            let loss = distillationLoss(student: s, teacher: t, targets: try XCTUnwrap(c["targets"] as? [Int]),
                                        temperature: Float(try XCTUnwrap(c["temperature"] as? Double)),
                                        alpha: Float(try XCTUnwrap(c["alpha"] as? Double)))
            loss.backward()
            let want = try XCTUnwrap(c["loss"] as? Double)
            XCTAssertEqual(Double(loss.item), want, accuracy: 2e-6 * max(1, abs(want)), name)
            let grad = try XCTUnwrap(c["grad"] as? [Double])
            XCTAssertLessThanOrEqual(worstDifference(try XCTUnwrap(s.grad).toArray(), grad), 1e-6, name)
        }
    }

    /// Loss and gradient of random logits against the formulas in Double, and the gradient against
    /// central differences of the Float loss itself.
    func testLossAndGradientMatchDoubleReference() throws {
        var g = SplitMix64(state: 7)
        let rows = 6, vocab = 53
        let random = { (scale: Double) -> [Float] in
            (0..<(rows * vocab)).map { _ in Float((Double(g.next() % 20_001) / 10_000 - 1) * scale) }
        }
        let student = random(3), teacher = random(6)
        let targets = [4, -100, 0, 52, -100, 17]
        for (temperature, alpha) in [(2.0, 0.3), (0.7, 1.0), (5.0, 0.85)] as [(Double, Double)] {
            let s = Tensor(shape: [rows, vocab], data: student, requiresGrad: true)
            let loss = distillationLoss(student: s, teacher: Tensor(shape: [rows, vocab], data: teacher), targets: targets,
                                        temperature: Float(temperature), alpha: Float(alpha))
            loss.backward()
            let (wantLoss, wantGrad) = Self.reference(student: student, teacher: teacher, targets: targets, vocab: vocab,
                                                      temperature: temperature, alpha: alpha)
            XCTAssertEqual(Double(loss.item), wantLoss, accuracy: 2e-6 * max(1, abs(wantLoss)), "T \(temperature) α \(alpha)")
            let grad = try XCTUnwrap(s.grad).toArray()
            XCTAssertLessThanOrEqual(worstDifference(grad, wantGrad), 1e-6, "T \(temperature) α \(alpha)")
            // Finite differences on a few entries, ignored rows included (their gradient is 0).
            for i in [0, 60, 2 * vocab + 11, 4 * vocab + 3, rows * vocab - 1] {
                let h: Float = 5e-2  // larger steps: the Float loss (up to ~T²·KL) rounds at ~1e-6 relative
                func lossAt(_ delta: Float) -> Double {
                    var x = student
                    x[i] += delta
                    return Double(distillationLoss(student: Tensor(shape: [rows, vocab], data: x),
                                                   teacher: Tensor(shape: [rows, vocab], data: teacher), targets: targets,
                                                   temperature: Float(temperature), alpha: Float(alpha)).item)
                }
                let numeric = (lossAt(h) - lossAt(-h)) / (2 * Double(h))
                XCTAssertEqual(Double(grad[i]), numeric, accuracy: 3e-4, "entry \(i), T \(temperature) α \(alpha)")
            }
        }
    }

    /// α·T²·mean KL(p_t ‖ p_s) + (1 − α)·mean CE and its gradient
    /// α·T·(p_s − p_t)/N + (1 − α)·(softmax(s) − onehot)/N, in Double.
    static func reference(student: [Float], teacher: [Float], targets: [Int], vocab: Int,
                          temperature t: Double, alpha: Double) -> (Double, [Double]) {
        func logSoftmax(_ x: ArraySlice<Float>, _ scale: Double) -> [Double] {
            let v = x.map { Double($0) / scale }, m = v.max()!
            let lse = m + Foundation.log(v.reduce(0) { $0 + Foundation.exp($1 - m) })
            return v.map { $0 - lse }
        }
        let counted = targets.indices.filter { targets[$0] != -100 }
        let n = Double(counted.count)
        var loss = 0.0, grad = [Double](repeating: 0, count: student.count)
        for r in counted {
            let row = (r * vocab)..<((r + 1) * vocab)
            let lt = logSoftmax(teacher[row], t), ls = logSoftmax(student[row], t), ce = logSoftmax(student[row], 1)
            var kl = 0.0
            for j in 0..<vocab {
                kl += Foundation.exp(lt[j]) * (lt[j] - ls[j])
                grad[r * vocab + j] = alpha * t * (Foundation.exp(ls[j]) - Foundation.exp(lt[j])) / n
                    + (1 - alpha) * (Foundation.exp(ce[j]) - (j == targets[r] ? 1 : 0)) / n
            }
            loss += alpha * t * t * kl / n - (1 - alpha) * ce[targets[r]] / n
        }
        return (loss, grad)
    }

    // MARK: the objective

    /// The training fixture's tiny VLM as the teacher, its samples (images as features), and a
    /// student half as wide and one block shallower that shares the teacher's vision tower.
    func setup(studentLanguage edit: (inout LanguageModelConfig) -> Void = { _ in }) throws -> (MiniMindVLM, MiniMindVLM, [TrainingSample]) {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<3 { samples += try TrainingFixtures.samples(case: "vlm2_sft", micro: m, sampleImages: sampleImages[m]) }
        let teacher = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        var config = teacher.config
        config.language.hiddenSize = 16
        config.language.headDim = 4
        config.language.numAttentionHeads = 4
        config.language.intermediateSize = 32
        config.language.numHiddenLayers = 2
        edit(&config.language)
        let student = try MiniMindVLM(config: config, language: try MiniMindLM(config: config.language, seed: 3),
                                      projector: MiniMindVLM.makeProjector(config, seed: 4), vision: teacher.vision)
        return (teacher, student, samples)
    }

    func testObjectiveIsTheLossOfBothModelsLogitsAtTheAnswers() throws {
        let (teacher, student, samples) = try setup()
        let objective = try DistillationObjective(teacher: teacher, student: student, temperature: 2, alpha: 0.6)
        let batch = TrainingBatch(Array(samples.prefix(3)))
        let loss = try objective.loss(batch, model: student, features: nil)
        loss.backward()

        // The same from full-sequence logits of each model, rows picked afterwards.
        let feats = try XCTUnwrap(try MiniMindVLM.visionFeatures(of: batch, features: nil))
        let counted = batch.targets.indices.filter { batch.targets[$0] != -100 }
        XCTAssertGreaterThan(counted.count, 5)
        let full = { (m: MiniMindVLM) -> Tensor in
            let l = noGrad { m.logits(ids: batch.ids, batch: batch.batch, images: m.project(feats), imagesPerSample: batch.imagesPerSample) }
            return indexSelect(l.reshaped([-1, l.shape[2]]), axis: 0, indices: counted)
        }
        let want = distillationLoss(student: full(student), teacher: full(teacher), targets: counted.map { batch.targets[$0] },
                                    temperature: 2, alpha: 0.6)
        XCTAssertEqual(loss.item, want.item, accuracy: 1e-5 * max(1, abs(want.item)))
        XCTAssertTrue(teacher.parameters().allSatisfy { $0.grad == nil }, "the teacher is frozen")
        XCTAssertNotNil(student.language.embeddingTable.grad)
        XCTAssertNotNil(student.namedParameters().first { $0.0.hasPrefix("vision_proj") }?.1.grad, "the student's projector learns")
    }

    func testAlphaZeroIsTheLabelObjectiveAndSelfDistillationHasNoSoftLoss() throws {
        let (teacher, student, samples) = try setup()
        let batch = TrainingBatch(Array(samples.prefix(4)))
        let labels = try VisionLanguageObjective().loss(batch, model: student, features: nil).item
        let onlyLabels = try DistillationObjective(teacher: teacher, student: student, temperature: 3, alpha: 0)
        XCTAssertEqual(try onlyLabels.loss(batch, model: student, features: nil).item, labels, accuracy: 1e-6)
        // A copy of the student as its own teacher: KL = 0 and no gradient from it.
        let own = try DistillationObjective(teacher: teacher, student: teacher, temperature: 2, alpha: 1)
        let loss = try own.loss(batch, model: teacher, features: nil)
        XCTAssertEqual(loss.item, 0, accuracy: 1e-5)
    }

    func testIncompatibleTeachersAndSettingsAreRefused() throws {
        let (teacher, student, _) = try setup()
        let (_, wideVocab, _) = try setup { $0.vocabSize = 128 }
        XCTAssertThrowsError(try DistillationObjective(teacher: teacher, student: wideVocab, temperature: 2, alpha: 0.5)) {
            XCTAssertEqual($0 as? DistillationError, .vocabularyMismatch(teacher: 96, student: 128))
        }
        var config = student.config
        config.imageTokenId = 35
        let otherToken = try MiniMindVLM(config: config, language: student.language, projector: student.projector, vision: student.vision)
        XCTAssertThrowsError(try DistillationObjective(teacher: teacher, student: otherToken, temperature: 2, alpha: 0.5)) {
            guard case .visionMismatch? = $0 as? DistillationError else { return XCTFail("\($0)") }
        }
        // Same configuration, a tower with other weights.
        let otherTower = try MiniMindVLM(config: student.config, language: student.language, projector: student.projector,
                                         vision: try ViTVisionEncoder(config: student.config.vision, seed: 99))
        XCTAssertThrowsError(try DistillationObjective(teacher: teacher, student: otherTower, temperature: 2, alpha: 0.5)) {
            XCTAssertEqual($0 as? DistillationError, .visionMismatch("the two vision towers have different weights"))
        }
        for (t, a, field) in [(0.0, 0.5, "DistillationObjective.temperature"), (.nan, 0.5, "DistillationObjective.temperature"),
                              (2, 1.5, "DistillationObjective.alpha"), (2, -0.1, "DistillationObjective.alpha")] {
            XCTAssertThrowsError(try DistillationObjective(teacher: teacher, student: student, temperature: t, alpha: a)) {
                XCTAssertEqual(($0 as? InputRangeError)?.field, field)
            }
        }
    }

    /// A short run on the soft targets alone brings the student's distribution towards the teacher's.
    func testTrainingMovesTheStudentTowardsTheTeacher() throws {
        let (teacher, student, samples) = try setup()
        var recipe = TrainingRecipe.sft(for: student.config)
        recipe.learningRate = 1e-2
        recipe.batchSize = 4
        recipe.steps = 24
        recipe.saveInterval = 1000
        let objective = try DistillationObjective(teacher: teacher, student: student, temperature: 1, alpha: 1)
        let trainer = try VLMTrainer(model: student, recipe: recipe, samples: PreparedSamples(samples), objective: objective)
        let before = try trainer.evaluate(samples)
        let summary = try trainer.run()
        XCTAssertEqual(summary.steps, 24)
        let after = try trainer.evaluate(samples)
        XCTAssertLessThan(after, before * 0.7, "KL to the teacher: \(before) → \(after)")
        XCTAssertTrue(teacher.parameters().allSatisfy { $0.grad == nil })
    }
}
