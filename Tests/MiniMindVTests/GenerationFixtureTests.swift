import XCTest
@testable import MiniMindV

/// Generator and Sampler against Scripts/gen_generation_fixtures.py: transformers `generate` ids
/// (greedy, greedy with repetition_penalty 1.3, two prompts batched with left padding) on tiny
/// Llama/Qwen3 models whose greedy output is varied, and upstream minimind's filter code on random logits.
final class GenerationFixtureTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/generation")

    func ints(_ name: String) throws -> [Int] {
        try NPYFile.read(Self.folder.appendingPathComponent(name)).int64Values().map { Int($0) }
    }

    func floats(_ name: String) throws -> [Float] {
        try NPYFile.read(Self.folder.appendingPathComponent(name)).toTensor().toArray()
    }

    func generator(_ prefix: String) throws -> Generator {
        var config = try JSONDecoder().decode(LanguageModelConfig.self,
                                              from: Data(contentsOf: Self.folder.appendingPathComponent("\(prefix)_config.json")))
        config.qkNorm = prefix == "qwen3"
        let lm = try MiniMindLM(config: config)
        try lm.loadStateDict(try Weights.tensors(try Safetensors.read(Self.folder.appendingPathComponent("\(prefix).safetensors"))))
        return try GenerationTestSupport.generator(around: lm)
    }

    func testGreedyPenaltyAndBatchEqualTransformers() throws {
        for prefix in ["llama", "qwen3"] {
            let gen = try generator(prefix)
            let prompts = try (0..<2).map { GenerationPrompt(ids: try ints("\(prefix)_prompt\($0).npy")) }
            for (i, prompt) in prompts.enumerated() {
                let greedy = try ints("\(prefix)_prompt\(i)_greedy.npy")
                let options = SamplingOptions(greedy: true, maxNewTokens: greedy.count, eosTokenIds: [])
                XCTAssertGreaterThan(Set(greedy).count, 4, "the fixture's greedy output is varied")
                XCTAssertEqual(try gen.generate(prompt, options: options).ids, greedy, "\(prefix) prompt \(i) greedy")
                var penalised = options
                penalised.repetitionPenalty = 1.3
                XCTAssertEqual(try gen.generate(prompt, options: penalised).ids, try ints("\(prefix)_prompt\(i)_penalty13.npy"),
                               "\(prefix) prompt \(i) repetition penalty 1.3")
            }
            let expected = try ints("\(prefix)_batch_greedy.npy")
            let batch = try gen.generateBatch(prompts, options: SamplingOptions(greedy: true, maxNewTokens: expected.count / 2, eosTokenIds: []))
            XCTAssertEqual(batch.flatMap(\.ids), expected, "\(prefix) left-padded batch")
        }
    }

    func testFiltersEqualUpstreamCode() throws {
        let logits = try floats("filters_logits.npy"), expected = try floats("filters_expected.npy")
        let seen = try ints("filters_seen.npy")
        let v = 40, rows = logits.count / v, seenPerRow = seen.count / rows
        for r in 0..<rows {
            var row = Array(logits[(r * v)..<((r + 1) * v)])
            row.withUnsafeMutableBufferPointer { p in
                Sampler.applyTemperature(p, 0.7)
                Sampler.applyRepetitionPenalty(p, ids: Set(seen[(r * seenPerRow)..<((r + 1) * seenPerRow)]), penalty: 1.2)
                Sampler.applyTopK(p, 12)
                Sampler.applyTopP(p, 0.85)
            }
            let want = Array(expected[(r * v)..<((r + 1) * v)])
            XCTAssertEqual(row.map { $0 == -.infinity }, want.map { $0 == -.infinity }, "row \(r): kept set")
            for (a, b) in zip(row, want) where b > -.infinity { XCTAssertEqual(a, b, accuracy: 1e-6, "row \(r)") }
        }
    }
}
