import XCTest
@testable import MiniMindV

/// The same-question grounding term: the question/answer split of a sample and of its batch row,
/// the negatives it finds, its loss against a Double reference from two plain forwards, and its
/// gradient against central finite differences of that reference.
final class TrainingGroundingNegativesTests: XCTestCase {
    /// Sample `s` with its answer tokens replaced (another answer to the same question) and other pictures.
    static func otherAnswer(_ s: TrainingSample, images: [PromptImage], vocab: Int, name: String) -> TrainingSample {
        var ids = s.ids, labels = s.labels
        for t in 1..<labels.count where labels[t] != TrainingSample.ignoreLabel {
            ids[t] = (ids[t] + 7) % vocab
            labels[t] = ids[t]
        }
        return TrainingSample(ids: ids, labels: labels, images: images, name: name)
    }

    /// Pictures of the same count as `s`'s, with features other than its own.
    static func otherPictures(of s: TrainingSample, scale: Float) -> [PromptImage] {
        s.images.map { image in
            guard case .features(let t) = image else { return image }
            return .features(Tensor(shape: t.shape, data: t.toArray().enumerated().map { Float($0.offset % 5) * 0.1 - $0.element * scale }))
        }
    }

    /// s0, s0 with another answer and other pictures, and s1 (pictures too, a question nobody else asks).
    func fixture() throws -> (MiniMindVLM, [TrainingSample]) {
        let (model, samples, _) = try TrainingRegularisationTests.tinyModel()
        let s0 = samples[0], s1 = try XCTUnwrap(samples.dropFirst().first { !$0.images.isEmpty })
        let twin = Self.otherAnswer(s0, images: Self.otherPictures(of: s0, scale: 0.5), vocab: model.config.language.vocabSize, name: "twin")
        return (model, [s0, twin, s1])
    }

    func testSplitOfABatchRowIsTheSamplesSplit() throws {
        let (_, samples, _) = try TrainingRegularisationTests.tinyModel()
        let batch = TrainingBatch(Array(samples.prefix(4)))  // samples of several lengths, so some are padded
        XCTAssertGreaterThan(Set(samples.prefix(4).map(\.ids.count)).count, 1)
        for (b, s) in samples.prefix(4).enumerated() {
            let split = try XCTUnwrap(GroundingNegatives.split(ids: s.ids, labels: s.labels))
            XCTAssertEqual(GroundingNegatives.split(batch, sample: b), split, "sample \(b)")
            XCTAssertEqual(split.answer, s.labels.dropFirst().filter { $0 != -100 })
            XCTAssertEqual(split.question.count + split.answer.count, (s.labels.lastIndex { $0 != -100 } ?? 0) + 1)
        }
        XCTAssertNil(GroundingNegatives.split(ids: [1, 2, 3], labels: [5, -100, -100]))  // label 0 never counts
    }

    func testNegativesAreSameQuestionOtherAnswer() throws {
        let (model, samples) = try fixture()
        let twinAgain = Self.otherAnswer(samples[0], images: Self.otherPictures(of: samples[0], scale: 2), vocab: model.config.language.vocabSize, name: "twin again")
        let negatives = GroundingNegatives(samples: samples + [twinAgain])
        // s0 has two negatives, each twin one (s0; the other twin has its answer); s1 none.
        XCTAssertEqual(negatives.samplesWithNegatives, 3)
        let split0 = try XCTUnwrap(GroundingNegatives.split(ids: samples[0].ids, labels: samples[0].labels))
        XCTAssertEqual(Set(try (0..<8).compactMap { try negatives.negative(for: split0, pick: UInt64($0))?.name }), ["twin", "twin again"])
        let splitTwin = try XCTUnwrap(GroundingNegatives.split(ids: samples[1].ids, labels: samples[1].labels))
        XCTAssertEqual(Set(try (0..<8).compactMap { try negatives.negative(for: splitTwin, pick: UInt64($0))?.name }), [samples[0].name])
        let split1 = try XCTUnwrap(GroundingNegatives.split(ids: samples[2].ids, labels: samples[2].labels))
        XCTAssertNil(try negatives.negative(for: split1, pick: 0))
    }

    /// The term's value in Double from plain forwards: for s0 and its twin, the mean answer NLL with the
    /// other's picture minus that with its own, hinged at the margin; s1 has no negative and is left out.
    func referenceLoss(_ model: MiniMindVLM, _ samples: [TrainingSample], weight: Double, margin: Double) throws -> Double {
        let batch = TrainingBatch(samples)
        let counted = batch.targets.indices.filter { batch.targets[$0] != -100 }
        let own = try TrainingGroundingTests.meanAnswerNLL(model, batch, counted: counted) { _ in }
        let other = try TrainingGroundingTests.meanAnswerNLL(model, batch, counted: counted) { order in
            // s0 sees the twin's pictures and the twin s0's
            for (k, slot) in batch.imagesPerSample[0].enumerated() { order[slot] = batch.imagesPerSample[1][k] }
            for (k, slot) in batch.imagesPerSample[1].enumerated() { order[slot] = batch.imagesPerSample[0][k] }
        }
        // The language loss: the mean over every counted token of the batch.
        var total = 0.0
        for b in 0..<3 { total += own[b]! * Double(counted.filter { $0 / batch.length == b }.count) }
        let language = total / Double(counted.count)
        let hinge = [0, 1].map { max(0, margin - (other[$0]! - own[$0]!)) }.reduce(0, +) / 2
        return language + weight * hinge
    }

    func testSameQuestionTermMatchesDoubleReference() throws {
        let (model, samples) = try fixture()
        model.train()
        defer { model.eval() }
        let batch = TrainingBatch(samples)
        let objective = GroundingObjective(weight: 0.5, term: .sameQuestion, margin: 50, negatives: GroundingNegatives(samples: samples))
        let total = try noGrad { try objective.loss(batch, model: model, features: nil).item }
        let plain = try noGrad { try VisionLanguageObjective().loss(batch, model: model, features: nil).item }
        XCTAssertEqual(Double(total), try referenceLoss(model, samples, weight: 0.5, margin: 50), accuracy: 1e-3)
        XCTAssertGreaterThan(total - plain, 1)  // the term is active (margin 50 nats)
        // Without negatives (none found) the term is absent; without an index it is an error.
        let alone = GroundingObjective(weight: 0.5, term: .sameQuestion, margin: 50, negatives: GroundingNegatives(samples: [samples[2]]))
        XCTAssertEqual(try noGrad { try alone.loss(batch, model: model, features: nil).item }, plain, accuracy: 1e-6)
        XCTAssertThrowsError(try GroundingObjective(weight: 0.5, term: .sameQuestion).loss(batch, model: model, features: nil))
        model.eval()  // validation: the language loss alone
        XCTAssertEqual(try noGrad { try objective.loss(batch, model: model, features: nil).item }, plain, accuracy: 1e-6)
    }

    /// d(loss)/d(projector weight) against central differences of the Double reference, at the
    /// weights with the largest gradients (weight 5, so that the term's share dominates; the
    /// reference sums in Double, so float rounding of the logits is far below the tolerance).
    func testSameQuestionGradientMatchesFiniteDifferences() throws {
        let (model, samples) = try fixture()
        let (_, _, recipe) = try TrainingRegularisationTests.tinyModel()
        try recipe.applyFreezePolicy(to: model)
        model.train()
        defer { model.eval() }
        let objective = GroundingObjective(weight: 5, term: .sameQuestion, margin: 50, negatives: GroundingNegatives(samples: samples))
        let (name, w) = try XCTUnwrap(model.namedParameters(trainableOnly: true).first { $0.0.hasPrefix("vision_proj.") && $0.1.shape.count == 2 })
        w.grad = nil
        try objective.loss(TrainingBatch(samples), model: model, features: nil).backward()
        let grad = try XCTUnwrap(w.grad).toArray()
        let largest = grad.indices.sorted { abs(grad[$0]) > abs(grad[$1]) }.prefix(4)
        let eps: Float = 1e-2
        for i in largest {
            let saved = w.pointer[i]
            w.mutablePointer[i] = saved + eps
            let up = try referenceLoss(model, samples, weight: 5, margin: 50)
            w.mutablePointer[i] = saved - eps
            let down = try referenceLoss(model, samples, weight: 5, margin: 50)
            w.mutablePointer[i] = saved
            let fd = (up - down) / Double(2 * eps)
            XCTAssertGreaterThan(abs(fd), 1e-3, "\(name)[\(i)]: too flat to check")
            XCTAssertEqual(Double(grad[i]), fd, accuracy: 2e-2 * abs(fd) + 2e-5, "\(name)[\(i)]")
        }
    }

    /// A trainer given no objective builds the negatives from its samples.
    func testTrainerBuildsNegativesFromItsSamples() throws {
        let (model, samples) = try fixture()
        var recipe = try TrainingRegularisationTests.tinyModel().2
        recipe.groundingWeight = 0.3
        recipe.groundingTerm = .sameQuestion
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples))
        let objective = try XCTUnwrap(trainer.objective as? GroundingObjective)
        XCTAssertEqual(objective.negatives?.samplesWithNegatives, 2)
        XCTAssertEqual(GroundingObjective.Term(rawValue: "same-question"), .sameQuestion)
    }
}
