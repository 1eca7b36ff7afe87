import XCTest
@testable import MiniMindV

/// Low-rank compression: LAPACKE sgesdd's singular values against numpy's (Scripts/
/// gen_compression_fixtures.py), the factors against the Eckart–Young bound ‖W − up·down‖²_F =
/// Σ discarded σ², energy 1 keeping W, and a factorised model folder that loads, decodes and trains.
final class LowRankCompressionTests: XCTestCase {
    func fixture(_ name: String) throws -> [Float] {
        try NPYFile.read(QuantizedWeightsTests.folder.appendingPathComponent(name)).toTensor().toArray()
    }

    func testSingularValuesEqualNumpy() throws {
        let w = try fixture("svd_w.npy"), expected = try fixture("svd_s.npy")
        let (u, s, vt) = try w.withUnsafeBufferPointer { try LAPACK.svd($0.baseAddress!, rows: 24, cols: 40) }
        XCTAssertEqual(s.count, 24)
        for (a, b) in zip(s, expected) { XCTAssertEqual(a, b, accuracy: 1e-5 * expected[0]) }
        XCTAssertEqual(u.count, 24 * 24)
        XCTAssertEqual(vt.count, 24 * 40)
    }

    /// ‖W − up·down‖²_F in Double.
    func residual(_ w: [Float], _ f: (down: [Float], up: [Float], rank: Int, singularValues: [Float]), out: Int, inF: Int) -> Double {
        var total = 0.0
        for r in 0..<out {
            for c in 0..<inF {
                var v = 0.0
                for k in 0..<f.rank { v += Double(f.up[r * f.rank + k]) * Double(f.down[k * inF + c]) }
                total += (Double(w[r * inF + c]) - v) * (Double(w[r * inF + c]) - v)
            }
        }
        return total
    }

    func testFactorsReproduceWWithinTheDiscardedSingularValues() throws {
        let w = try fixture("svd_w.npy"), sigma = try fixture("svd_s.npy").map(Double.init)
        let norm = sigma.reduce(0) { $0 + $1 * $1 }
        for rank in [1, 5, 12, 23] {
            let f = try w.withUnsafeBufferPointer { try LowRankCompression.factors($0.baseAddress!, out: 24, in: 40, target: .rank(rank)) }
            XCTAssertEqual(f.rank, rank)
            let discarded = sigma[rank...].reduce(0) { $0 + $1 * $1 }
            XCTAssertEqual(residual(w, f, out: 24, inF: 40), discarded, accuracy: 1e-5 * norm, "rank \(rank)")
        }
        // Energy 1 keeps every singular value: W to float rounding.
        let all = try w.withUnsafeBufferPointer { try LowRankCompression.factors($0.baseAddress!, out: 24, in: 40, target: .energy(1)) }
        XCTAssertEqual(all.rank, 24)
        XCTAssertLessThan(residual(w, all, out: 24, inF: 40), 1e-10 * norm)
        // Energy E keeps the fewest values whose squares reach E of the total (numpy's σ).
        for e in [0.3, 0.5, 0.9] {
            let f = try w.withUnsafeBufferPointer { try LowRankCompression.factors($0.baseAddress!, out: 24, in: 40, target: .energy(e)) }
            let kept = sigma.prefix(f.rank).reduce(0) { $0 + $1 * $1 }, fewer = sigma.prefix(f.rank - 1).reduce(0) { $0 + $1 * $1 }
            XCTAssertGreaterThanOrEqual(kept, e * norm * (1 - 1e-6), "energy \(e)")
            XCTAssertLessThan(fewer, e * norm, "energy \(e)")
        }
    }

    func testFolderRecordsFactorsLoadsDecodesAndTrains() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lowrank-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let tokenizerFolder = ConvertRoundTripTests.tokenizerFolder
        let tokenizer = try Tokenizer(contentsOf: tokenizerFolder)
        let bundle = try VLMBundle(model: try GenerationTestSupport.tinyVLM(tokenizer: tokenizer), tokenizer: tokenizer)
        let lm = try XCTUnwrap(bundle.model.language as? MiniMindLM)
        let reports = try LowRankCompression(target: .rank(4), layers: [try KeyPattern("model.layers.*.mlp")]).apply(to: lm)
        XCTAssertEqual(reports.map(\.path).sorted(), (0..<2).flatMap { i in ["down_proj", "gate_proj", "up_proj"].map { "model.layers.\(i).mlp.\($0)" } })
        XCTAssertEqual(reports.first?.parametersAfter, 4 * (32 + 64))
        let folder = scratch.appendingPathComponent("model")
        try bundle.save(to: folder, tokenizerFiles: tokenizerFolder)
        let config = try ModelSource.readConfig(folder.appendingPathComponent("config.json"))
        XCTAssertEqual(config.lowRank?.count, 6)
        XCTAssertEqual(config.lowRank?["model.layers.1.mlp.up_proj"], 4)
        let file = try Safetensors.read(folder.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(file["model.layers.0.mlp.up_proj.down.weight"]?.shape, [4, 32])
        XCTAssertEqual(file["model.layers.0.mlp.up_proj.up.weight"]?.shape, [64, 4])
        XCTAssertNil(file["model.layers.0.mlp.up_proj.weight"])
        XCTAssertTrue(ModelInspection.configurationLines(path: folder, shapes: Weights.shapes(file)).contains("weights: agree with config.json"))

        let loaded = try VLMBundle.load(folder: folder)
        let ids = [1, 300, 301, 302, 303, 304, 305, 306, 307, 308]
        let full = noGrad { loaded.model.logits(ids: ids) }
        XCTAssertEqual(full.toArray(), noGrad { bundle.model.logits(ids: ids) }.toArray())
        // Decode one token at a time through the factors: the prefill's logits.
        let language = try XCTUnwrap(loaded.model.language as? MiniMindLM)
        let cache = language.makeCache(batch: 1, maxLength: ids.count)
        let stepped = Tensor.concat(ids.map { id in noGrad { language.logits(embeddings: language.embed([id], batch: 1), cache: cache) } }, axis: 1)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(stepped.reshaped(full.shape), full), 1e-4)
        // Training reaches both factors.
        let factor = try XCTUnwrap(QuantizedWeights.layers(of: language).first { $0.path == "model.layers.0.mlp.gate_proj" }?.layer as? LowRankLinear)
        XCTAssertTrue(factor.down.weight.requiresGrad && factor.up.weight.requiresGrad)
        language.logits(embeddings: language.embed(ids, batch: 1), keyPaddingMask: nil).sum().backward()
        XCTAssertGreaterThan(try XCTUnwrap(factor.down.weight.grad).toArray().map(abs).max()!, 0)
        XCTAssertGreaterThan(try XCTUnwrap(factor.up.weight.grad).toArray().map(abs).max()!, 0)
    }

    func testOutOfRangeTargetsAndRanksAreTypedErrors() throws {
        XCTAssertThrowsError(try LowRankCompression(target: .rank(0))) {
            XCTAssertEqual($0 as? CompressionError, .outOfRange(field: "LowRankCompression.Target.rank", value: "0", allowed: "1 or more"))
        }
        XCTAssertThrowsError(try LowRankCompression(target: .energy(1.5))) {
            XCTAssertEqual($0 as? CompressionError, .outOfRange(field: "LowRankCompression.Target.energy", value: "1.5", allowed: "0 < E ≤ 1"))
        }
        let lm = try MiniMindLM(config: GenerationTestSupport.tinyLanguageConfig(vocab: 50))
        XCTAssertThrowsError(try LowRankCompression(target: .rank(2), layers: [try KeyPattern("model.layers.9")]).apply(to: lm)) {
            XCTAssertEqual($0 as? CompressionError, .noMatchingLayers(pattern: "model.layers.9"))
        }
        XCTAssertThrowsError(try LowRankLinear.factorize(lm, ranks: ["model.layers.0.mlp.up_proj": 33])) {
            XCTAssertEqual($0 as? CompressionError, .outOfRange(field: "lowRank[\"model.layers.0.mlp.up_proj\"]", value: "33", allowed: "1…32"))
        }
        XCTAssertThrowsError(try LowRankLinear.factorize(lm, ranks: ["model.layers.0.mlp.nope": 3])) {
            XCTAssertEqual($0 as? CompressionError, .noMatchingLayers(pattern: "lowRank[\"model.layers.0.mlp.nope\"]"))
        }
    }
}
