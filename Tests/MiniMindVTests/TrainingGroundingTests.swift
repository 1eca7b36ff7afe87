import XCTest
@testable import MiniMindV

/// The grounding objective: symmetric InfoNCE against PyTorch (Tests/Fixtures/remedies), the
/// pooled pairs by their definition, and the composition with the language loss.
final class TrainingGroundingTests: XCTestCase {
    func testSymmetricInfoNCEMatchesPyTorch() throws {
        let s = try RemedyFixtures.section("grounding")
        let b = try XCTUnwrap(s["batch"] as? Int), d = try XCTUnwrap(s["dim"] as? Int)
        let image = Tensor(shape: [b, d], data: try RemedyFixtures.floats(s, "image"))
        let text = Tensor(shape: [b, d], data: try RemedyFixtures.floats(s, "text"))
        image.requiresGrad = true
        text.requiresGrad = true
        let loss = symmetricInfoNCE(image, text, scale: Float(try XCTUnwrap(s["scale"] as? Double)))
        loss.backward()
        XCTAssertEqual(Double(loss.item), try XCTUnwrap(s["loss"] as? Double), accuracy: 1e-5)
        RemedyFixtures.assertClose(try XCTUnwrap(image.grad).toArray(), try RemedyFixtures.floats(s, "gradImage"), tol: 1e-5, "dL/dimage")
        RemedyFixtures.assertClose(try XCTUnwrap(text.grad).toArray(), try RemedyFixtures.floats(s, "gradText"), tol: 1e-5, "dL/dtext")
    }

    /// Weight 0 is the language objective exactly; weight w adds w · InfoNCE of the pooled pairs,
    /// which are the mean image token and the mean answer hidden state of each sample (Double here).
    func testObjectiveIsLanguageLossPlusWeightedInfoNCE() throws {
        let (model, samples, _) = try TrainingRegularisationTests.tinyModel()
        let batch = TrainingBatch(Array(samples.prefix(4)))
        let lm = try XCTUnwrap(model.language as? MiniMindLM)
        model.train()  // the term is training-only; the model has no dropout set, so train mode changes nothing else
        defer { model.eval() }
        let plain = try noGrad { try VisionLanguageObjective().loss(batch, model: model, features: nil).item }
        XCTAssertEqual(try noGrad { try GroundingObjective(weight: 0).loss(batch, model: model, features: nil).item }, plain, accuracy: 1e-6)

        let objective = GroundingObjective(weight: 0.5)
        let total = try noGrad { try objective.loss(batch, model: model, features: nil).item }
        // The pairs by hand.
        let (images, hidden, counted) = try noGrad { () throws -> (Tensor, Tensor, [Int]) in
            let projected = try XCTUnwrap(try model.projectedImages(batch, features: nil))
            let counted = batch.targets.indices.filter { batch.targets[$0] != -100 }
            let e = model.embeddings(ids: batch.ids, batch: batch.batch, images: projected, imagesPerSample: batch.imagesPerSample)
            return (projected, lm.hiddenStatesAndLogits(embeddings: e, keyPaddingMask: nil, rows: counted).hidden, counted)
        }
        let h = model.config.language.hiddenSize, tokens = images.shape[1]
        let iv = images.toArray(), hv = hidden.toArray()
        var imagePairs: [Float] = [], textPairs: [Float] = []
        for b in 0..<batch.batch {
            let rows = counted.enumerated().filter { $0.element / batch.length == b }.map(\.offset)
            guard !batch.imagesPerSample[b].isEmpty, !rows.isEmpty else { continue }
            for k in 0..<h {
                var si = 0.0, st = 0.0
                for n in batch.imagesPerSample[b] { for t in 0..<tokens { si += Double(iv[(n * tokens + t) * h + k]) } }
                for r in rows { st += Double(hv[r * h + k]) }
                imagePairs.append(Float(si / Double(tokens * batch.imagesPerSample[b].count)))
                textPairs.append(Float(st / Double(rows.count)))
            }
        }
        let pairs = imagePairs.count / h
        XCTAssertGreaterThanOrEqual(pairs, 2)
        let nce = symmetricInfoNCE(Tensor(shape: [pairs, h], data: imagePairs), Tensor(shape: [pairs, h], data: textPairs), scale: 1 / 0.07).item
        XCTAssertEqual(total, plain + 0.5 * nce, accuracy: 1e-4)
        XCTAssertGreaterThan(nce, 0)
        model.eval()  // validation measures the language loss alone
        XCTAssertEqual(try noGrad { try objective.loss(batch, model: model, features: nil).item }, plain, accuracy: 1e-6)
    }

    /// The grounding term sends gradient into the projector beyond the language loss's.
    func testGroundingTermReachesTheProjector() throws {
        let (model, samples, base) = try TrainingRegularisationTests.tinyModel()
        let batch = TrainingBatch(Array(samples.prefix(4)))
        try base.applyFreezePolicy(to: model)
        model.train()
        defer { model.eval() }
        func projectorGrad(_ objective: TrainingObjective) throws -> [Float] {
            for (_, p) in model.namedParameters(trainableOnly: true) { p.grad = nil }
            try objective.loss(batch, model: model, features: nil).backward()
            return try XCTUnwrap(model.namedParameters(trainableOnly: true).first { $0.0.hasPrefix("vision_proj.") }?.1.grad).toArray()
        }
        XCTAssertNotEqual(try projectorGrad(GroundingObjective(weight: 1)), try projectorGrad(VisionLanguageObjective()))
        var recipe = base
        recipe.groundingWeight = 0.2
        XCTAssertTrue(recipe.defaultObjective is GroundingObjective)
        recipe.groundingWeight = -1
        XCTAssertThrowsError(try recipe.validate())
    }

    /// A trainer given no objective takes the recipe's: with a grounding weight, the grounding
    /// objective (the CLI's `--grounding-weight` once passed an explicit plain objective and was ignored).
    func testTrainerWithoutObjectiveTakesTheRecipes() throws {
        let (model, samples, base) = try TrainingRegularisationTests.tinyModel()
        var recipe = base
        recipe.groundingWeight = 0.2
        let grounded = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples))
        XCTAssertEqual((grounded.objective as? GroundingObjective)?.weight, 0.2)
        let plain = try VLMTrainer(model: model, recipe: base, samples: PreparedSamples(samples))
        XCTAssertTrue(plain.objective is VisionLanguageObjective)
    }
}
