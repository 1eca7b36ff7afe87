import XCTest
import TestSupport
@testable import MiniMindV

/// Length bucketing (TrainingRecipe.lengthBuckets) and the counted-rows loss (MiniMindVLM.loss).
/// Their PyTorch reference is TrainingParityTests: the trainer's loss goes through `MiniMindVLM.loss`.
final class TrainingBucketingTests: XCTestCase {
    func fixtures() throws -> (MiniMindVLM, [TrainingSample]) {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<sampleImages.count { samples += try TrainingFixtures.samples(case: "vlm2_sft", micro: m, sampleImages: sampleImages[m]) }
        return (try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"])), samples)
    }

    /// Samples of lengths 5, 6, …: token 1 then text, every text token counted.
    func textSamples(_ lengths: [Int]) -> [TrainingSample] {
        lengths.enumerated().map { i, n in
            let ids = [1] + (0..<(n - 1)).map { 2 + ($0 * 7 + i) % 50 }
            return TrainingSample(ids: ids, labels: [TrainingSample.ignoreLabel] + ids.dropFirst(), images: [], name: "s\(i)")
        }
    }

    func testBucketsSortEachWindowByLengthAndKeepTheEpochsSamples() throws {
        let (model, _) = try fixtures()
        let lengths = [9, 30, 12, 25, 7, 18, 40, 11, 22, 16, 8]
        var recipe = TrainingRecipe.sft(for: model.config)
        recipe.batchSize = 2
        recipe.augmentation = nil
        let plain = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(textSamples(lengths)))
        recipe.lengthBuckets = 2   // windows of 4 samples
        let bucketed = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(textSamples(lengths)))
        for epoch in 0..<3 {
            let shuffled = plain.order(epoch: epoch), order = bucketed.order(epoch: epoch)
            XCTAssertEqual(order.count, lengths.count)
            for start in stride(from: 0, to: order.count, by: 4) {
                let window = Array(order[start..<min(start + 4, order.count)])
                XCTAssertEqual(Set(window), Set(shuffled[start..<min(start + 4, shuffled.count)]), "window of epoch \(epoch)")
                XCTAssertEqual(window.map { lengths[$0] }, window.map { lengths[$0] }.sorted(by: >), "longest first")
            }
            XCTAssertEqual(order, bucketed.order(epoch: epoch), "deterministic")
        }
        // Less padding than the shuffled order: padded positions summed over the epoch's batches.
        func padding(_ order: [Int]) -> Int {
            stride(from: 0, to: order.count, by: 2).reduce(0) { acc, s in
                let b = order[s..<min(s + 2, order.count)].map { lengths[$0] }
                return acc + b.map { (b.max() ?? 0) - $0 }.reduce(0, +)
            }
        }
        XCTAssertLessThan(padding(bucketed.order(epoch: 0)), padding(plain.order(epoch: 0)))
    }

    func testCountedRowsLossEqualsTheFullLogitsLoss() throws {
        let (model, samples) = try fixtures()
        try TrainingRecipe.sft(for: model.config).applyFreezePolicy(to: model)
        let batch = TrainingBatch(Array(samples.prefix(3)))
        let trainer = try VLMTrainer(model: model, recipe: { var r = TrainingRecipe.sft(for: model.config); r.augmentation = nil; return r }(),
                                     samples: PreparedSamples(samples))
        let params = model.namedParameters(trainableOnly: true)

        let counted = try trainer.loss(batch)
        counted.backward()
        let countedGrads = params.map { $0.1.grad?.toArray() ?? [] }
        for (_, p) in params { p.zeroGrad() }

        // The same batch through full-sequence logits and a cross-entropy that ignores -100 rows.
        let feats = batch.images.compactMap { image -> Tensor? in if case .features(let t) = image { return t }; return nil }
        let projected = feats.isEmpty ? nil : model.project(Tensor.stack(feats))
        let logits = model.logits(ids: batch.ids, batch: batch.batch, images: projected,
                                  imagesPerSample: projected == nil ? [] : batch.imagesPerSample)
        let full = crossEntropy(logits: logits, targets: batch.targets)
        full.backward()
        XCTAssertEqual(counted.item, full.item, accuracy: 1e-5 * abs(full.item))
        for ((key, p), want) in zip(params, countedGrads) {
            let got = p.grad?.toArray() ?? []
            XCTAssertEqual(got.count, want.count, key)
            let scale = max(got.map(abs).max() ?? 0, 1e-6)
            let diff = Float(worstDifference(got, want))
            XCTAssertLessThanOrEqual(diff / scale, 1e-5, key)
        }
    }

    func testABatchWithoutCountedLabelsHasZeroLossAndZeroGradients() throws {
        let (model, _) = try fixtures()
        try TrainingRecipe.sft(for: model.config).applyFreezePolicy(to: model)
        let s = TrainingSample(ids: [1, 5, 6, 7], labels: [Int](repeating: TrainingSample.ignoreLabel, count: 4), images: [], name: "none")
        let batch = TrainingBatch([s, s])
        let loss = model.loss(ids: batch.ids, targets: batch.targets, batch: batch.batch)
        XCTAssertEqual(loss.item, 0)
        loss.backward()
        for (key, p) in model.namedParameters(trainableOnly: true) {
            guard let g = p.grad else { continue }
            XCTAssertTrue(g.buffer.allSatisfy { $0 == 0 }, key)
        }
    }
}
