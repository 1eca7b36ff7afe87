import XCTest
@testable import MiniMindV

/// The metrics against the numbers of their reference implementations (Scripts/gen_eval_fixtures.py:
/// sacrebleu 2.6.0, pycocoevalcap 1.2's Cider, rouge-score 0.1.2, the official VQA evaluation code
/// from salesforce-lavis 1.0.2) on Tests/Fixtures/eval/metrics.json: 230 caption pairs and 220 VQA
/// answers plus edge-case sets (empty hypotheses, longer than every reference, unicode, one sample,
/// several references). Agreement to 1e-6.
final class EvalMetricsTests: XCTestCase {
    struct CaptionSample: Decodable { var hyp: String; var refs: [String] }
    struct CaptionSet: Decodable {
        var name: String
        var samples: [CaptionSample]
        var bleu: [Double]
        var cider_d: Double
        var cider_d_per_sample: [Double]
        var rouge_l: Double
        var rouge_l_per_sample: [Double]
        var tokens_13a: [String]
        var tokens_cider: [String]
    }
    struct VQASample: Decodable { var pred: String; var refs: [String] }
    struct VQASet: Decodable {
        var samples: [VQASample]
        var normalized_pred: [String]
        var normalized_refs: [[String]]
        var exact_match_per_sample: [Double]
        var exact_match: Double
        var vqa_accuracy_per_sample: [Double]
        var vqa_accuracy: Double
    }
    struct Fixture: Decodable { var caption_sets: [CaptionSet]; var vqa: VQASet }

    static func load() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/eval/metrics.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testFixtureCoversTheCases() throws {
        let fixture = try Self.load()
        let sets = fixture.caption_sets
        XCTAssertGreaterThanOrEqual(sets[0].samples.count, 200)
        XCTAssertTrue(sets[0].samples.contains { $0.hyp.isEmpty })
        XCTAssertTrue(sets[0].samples.contains { $0.refs.count > 1 })
        XCTAssertTrue(sets.contains { $0.samples.count == 1 })
        XCTAssertGreaterThanOrEqual(fixture.vqa.samples.count, 200)
    }

    func testSacreBLEU13aTokens() throws {
        let fixture = try Self.load()
        for set in fixture.caption_sets {
            for (s, want) in zip(set.samples, set.tokens_13a) {
                XCTAssertEqual(BLEUTokenizer13a.tokenize(s.hyp), want, "\(set.name): \(s.hyp.debugDescription)")
            }
        }
    }

    func testCorpusBLEUMatchesSacreBLEU() throws {
        let fixture = try Self.load()
        for set in fixture.caption_sets {
            let got = CorpusBLEU.scores(hypotheses: set.samples.map(\.hyp), references: set.samples.map(\.refs))
            for n in 0..<4 { XCTAssertEqual(got[n], set.bleu[n], accuracy: 1e-6, "\(set.name) BLEU-\(n + 1)") }
        }
    }

    func testCIDErDMatchesPycocoevalcap() throws {
        let fixture = try Self.load()
        for set in fixture.caption_sets {
            for (s, want) in zip(set.samples, set.tokens_cider) {
                XCTAssertEqual(CIDErD.tokens(s.hyp).map(EvalText.string).joined(separator: " "), want, "\(set.name): \(s.hyp.debugDescription)")
            }
            let got = CIDErD.scores(hypotheses: set.samples.map(\.hyp), references: set.samples.map(\.refs))
            XCTAssertEqual(got.mean, set.cider_d, accuracy: 1e-6, "\(set.name) CIDEr-D")
            for (i, (g, w)) in zip(got.perSample, set.cider_d_per_sample).enumerated() {
                XCTAssertEqual(g, w, accuracy: 1e-6, "\(set.name) CIDEr-D sample \(i)")
            }
        }
    }

    func testRougeLMatchesRougeScore() throws {
        let fixture = try Self.load()
        for set in fixture.caption_sets {
            let got = RougeL.score(hypotheses: set.samples.map(\.hyp), references: set.samples.map(\.refs))
            XCTAssertEqual(got.mean, set.rouge_l, accuracy: 1e-6, "\(set.name) ROUGE-L")
            for (i, (g, w)) in zip(got.perSample, set.rouge_l_per_sample).enumerated() {
                XCTAssertEqual(g, w, accuracy: 1e-6, "\(set.name) ROUGE-L sample \(i): \(set.samples[i])")
            }
        }
    }

    func testVQANormalisationMatchesOfficialCode() throws {
        let fixture = try Self.load()
        let v = fixture.vqa
        for (i, s) in v.samples.enumerated() {
            XCTAssertEqual(VQAAnswerNormalizer.normalize(s.pred), v.normalized_pred[i], "\(s.pred.debugDescription)")
            for (r, want) in zip(s.refs, v.normalized_refs[i]) { XCTAssertEqual(VQAAnswerNormalizer.normalize(r), want, r.debugDescription) }
        }
        // The period rule's count limit: the official code removes only the first 32 periods.
        XCTAssertEqual(VQAAnswerNormalizer.normalize(String(repeating: "a.", count: 40)).count, 48)
        XCTAssertEqual(VQAAnswerNormalizer.normalize("Two dogs!"), "2 dogs")
    }

    func testVQAAccuracyMatchesOfficialCode() throws {
        let fixture = try Self.load()
        let v = fixture.vqa
        var exact = 0.0, soft = 0.0
        for (i, s) in v.samples.enumerated() {
            let e = VQAAccuracy.exactMatch(prediction: s.pred, references: s.refs) ? 1.0 : 0.0
            let a = VQAAccuracy.softAccuracy(prediction: s.pred, references: s.refs)
            XCTAssertEqual(e, v.exact_match_per_sample[i], "exact match \(i): \(s)")
            XCTAssertEqual(a, v.vqa_accuracy_per_sample[i], accuracy: 1e-9, "VQA accuracy \(i): \(s)")
            exact += e
            soft += a
        }
        XCTAssertEqual(exact / Double(v.samples.count), v.exact_match, accuracy: 1e-9)
        XCTAssertEqual(soft / Double(v.samples.count), v.vqa_accuracy, accuracy: 1e-9)
    }

    /// Perplexity runs the training loss path: on PyTorch's step-0 batch (Scripts/gen_training_fixtures.py)
    /// it is exp(torch's loss), equals exp(trainer.evaluate) on the same samples, and is a per-token
    /// mean (one sample per batch gives the same value).
    func testPerplexityIsExpOfTheTrainingLoss() throws {
        for name in ["vlm2_pretrain", "vlm3_sft"] {
            guard let c = try TrainingFixtures.cases()[name], let kind = c["kind"] as? String, let lmConfig = c["lm_config"],
                  let sampleImages = c["sample_images"] as? [[[Int]]], let loss0 = c["loss0"] as? Double,
                  (c["accumulation_steps"] as? Int) == 1 else { return XCTFail("training_cases.json: no one-micro-batch case \(name)") }
            let vlm = try TrainingFixtures.model(kind: kind, lmConfig: lmConfig)
            let samples = try TrainingFixtures.samples(case: name, micro: 0, sampleImages: sampleImages[0])
            let whole = try Perplexity.measure(model: vlm, samples: samples, features: nil, batchSize: samples.count)
            XCTAssertEqual(whole.meanNLL, loss0, accuracy: 1e-5, "\(name): mean NLL vs torch's loss")
            XCTAssertEqual(whole.value ?? 0, exp(loss0), accuracy: 1e-5 * exp(loss0))
            var recipe = TrainingRecipe.sft(for: vlm.config)
            recipe.batchSize = samples.count
            let trainer = try VLMTrainer(model: vlm, recipe: recipe, samples: PreparedSamples(samples))
            XCTAssertEqual(whole.value ?? 0, exp(try trainer.evaluate(samples)), accuracy: 1e-6 * exp(loss0))
            let counted = samples.map(\.countedLabels).reduce(0, +)
            XCTAssertEqual(whole.tokens, counted)
            let single = try Perplexity.measure(model: vlm, samples: samples, features: nil, batchSize: 1)
            XCTAssertEqual(single.tokens, counted)
            XCTAssertEqual(single.meanNLL, whole.meanNLL, accuracy: 1e-5)
        }
    }
}
