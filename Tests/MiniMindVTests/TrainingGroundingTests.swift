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

    /// With groups, pairs of one group are left out of each other's softmax: PyTorch's masked_fill.
    func testSymmetricInfoNCEWithGroupsMatchesPyTorch() throws {
        let s = try RemedyFixtures.section("groundingGroups")
        let b = try XCTUnwrap(s["batch"] as? Int), d = try XCTUnwrap(s["dim"] as? Int)
        let image = Tensor(shape: [b, d], data: try RemedyFixtures.floats(s, "image"))
        let text = Tensor(shape: [b, d], data: try RemedyFixtures.floats(s, "text"))
        image.requiresGrad = true
        text.requiresGrad = true
        let groups = try XCTUnwrap(s["groups"] as? [Int])
        let loss = symmetricInfoNCE(image, text, scale: Float(try XCTUnwrap(s["scale"] as? Double)), groups: groups)
        loss.backward()
        XCTAssertEqual(Double(loss.item), try XCTUnwrap(s["loss"] as? Double), accuracy: 1e-5)
        RemedyFixtures.assertClose(try XCTUnwrap(image.grad).toArray(), try RemedyFixtures.floats(s, "gradImage"), tol: 1e-5, "dL/dimage")
        RemedyFixtures.assertClose(try XCTUnwrap(text.grad).toArray(), try RemedyFixtures.floats(s, "gradText"), tol: 1e-5, "dL/dtext")
        // All-distinct groups are the plain loss.
        XCTAssertEqual(symmetricInfoNCE(image, text, scale: 3, groups: Array(0..<b)).item, symmetricInfoNCE(image, text, scale: 3).item)
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
        var imagePairs: [Float] = [], textPairs: [Float] = [], answers: [[Int]] = []
        for b in 0..<batch.batch {
            let rows = counted.enumerated().filter { $0.element / batch.length == b }.map(\.offset)
            guard !batch.imagesPerSample[b].isEmpty, !rows.isEmpty else { continue }
            answers.append(rows.map { batch.targets[counted[$0]] })
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
        // Pairs with equal answers share a group (not each other's negatives).
        let groups = answers.map { a in answers.firstIndex(of: a)! }
        let nce = symmetricInfoNCE(Tensor(shape: [pairs, h], data: imagePairs), Tensor(shape: [pairs, h], data: textPairs),
                                   scale: 1 / 0.07, groups: groups).item
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

    /// The mismatch term by its definition, in Double from two plain forwards: per sample, the mean
    /// answer NLL with the next sample's picture minus that with its own, hinged at the margin,
    /// averaged over the samples whose partner answers differently.
    func testMismatchTermIsTheHingedLikelihoodGap() throws {
        let (model, samples, _) = try TrainingRegularisationTests.tinyModel()
        let batch = TrainingBatch(Array(samples.prefix(4)))
        model.train()
        defer { model.eval() }
        let plain = try noGrad { try VisionLanguageObjective().loss(batch, model: model, features: nil).item }
        let margin: Float = 50  // large, so that every pair is inside the hinge and the gradient flows
        let objective = GroundingObjective(weight: 0.5, term: .mismatch, margin: margin)
        let total = try noGrad { try objective.loss(batch, model: model, features: nil).item }

        let counted = batch.targets.indices.filter { batch.targets[$0] != -100 }
        let withImages = (0..<batch.batch).filter { b in !batch.imagesPerSample[b].isEmpty && counted.contains { $0 / batch.length == b } }
        XCTAssertGreaterThanOrEqual(withImages.count, 2)
        let own = try Self.meanAnswerNLL(model, batch, counted: counted) { _ in }
        let other = try Self.meanAnswerNLL(model, batch, counted: counted) { order in
            for (i, b) in withImages.enumerated() {
                let partner = batch.imagesPerSample[withImages[(i + 1) % withImages.count]]
                for (k, slot) in batch.imagesPerSample[b].enumerated() { order[slot] = partner[k % partner.count] }
            }
        }
        func answer(_ b: Int) -> [Int] { counted.filter { $0 / batch.length == b }.map { batch.targets[$0] } }
        var sum = 0.0, used = 0
        for (i, b) in withImages.enumerated() where answer(b) != answer(withImages[(i + 1) % withImages.count]) {
            sum += max(0, Double(margin) - (other[b]! - own[b]!)); used += 1
        }
        XCTAssertGreaterThan(used, 0)
        XCTAssertEqual(Double(total), Double(plain) + 0.5 * sum / Double(used), accuracy: 1e-3)
        XCTAssertNotEqual(total, plain)
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

    /// The likelihood-margin terms' reference: each sample's mean answer NLL in Double, from a plain
    /// forward whose image slots read the projected pictures in the order `reorder` makes of 0..<n.
    static func meanAnswerNLL(_ model: MiniMindVLM, _ batch: TrainingBatch, counted: [Int],
                              reorder: (inout [Int]) -> Void) throws -> [Int: Double] {
        try noGrad {
            let projected = try XCTUnwrap(try model.projectedImages(batch, features: nil))
            var order = Array(0..<projected.shape[0])
            reorder(&order)
            let logits = model.logits(ids: batch.ids, batch: batch.batch, images: indexSelect(projected, axis: 0, indices: order),
                                      imagesPerSample: batch.imagesPerSample).toArray()
            let v = model.config.language.vocabSize
            var sums: [Int: (Double, Int)] = [:]
            for flat in counted {
                let row = logits[(flat * v)..<((flat + 1) * v)].map(Double.init)
                let top = row.max()!
                let lse = top + log(row.reduce(0) { $0 + exp($1 - top) })
                let b = flat / batch.length
                sums[b, default: (0, 0)].0 += lse - row[batch.targets[flat]]
                sums[b, default: (0, 0)].1 += 1
            }
            return sums.mapValues { $0.0 / Double($0.1) }
        }
    }
}
