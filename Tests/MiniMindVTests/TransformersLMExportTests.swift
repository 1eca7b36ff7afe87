import XCTest
@testable import MiniMindV

/// The language model exported as a standard LlamaForCausalLM / Qwen3ForCausalLM folder reads back
/// with identical logits, and still matches transformers' logits for the fixture models. With
/// MINIMIND_EXPORT_DIR the folders are kept for `python3 Scripts/check_transformers_export.py DIR`,
/// which loads them with transformers (no remote code) and compares logits.
final class TransformersLMExportTests: XCTestCase {
    func testExportReadsBackExactlyAndMatchesTransformers() throws {
        for (prefix, config) in [("llama", try ModelFixtures.llamaConfig()), ("qwen3", try ModelFixtures.qwenConfig())] {
            let lm = try MiniMindLM(config: config)
            try lm.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")))
            lm.eval()
            let keep = ProcessInfo.processInfo.environment["MINIMIND_EXPORT_DIR"]
            let folder = keep.map { URL(fileURLWithPath: $0).appendingPathComponent("hf_\(prefix)") }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("hf-\(UUID().uuidString)")
            defer { if keep == nil { try? FileManager.default.removeItem(at: folder) } }
            try TransformersLMExport.write(lm, tokenizerFiles: nil, to: folder)

            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
            XCTAssertEqual(json["architectures"] as? [String], [prefix == "llama" ? "LlamaForCausalLM" : "Qwen3ForCausalLM"])
            XCTAssertEqual(json["model_type"] as? String, prefix)
            XCTAssertNil(try Safetensors.read(folder.appendingPathComponent("model.safetensors"))["lm_head.weight"], "tied head not stored")

            let back = try TransformersLMExport.load(folder)
            XCTAssertEqual(back.config.qkNorm, config.qkNorm)
            let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
            let a = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1)) }
            let b = noGrad { back.logits(embeddings: back.embed(ids, batch: 1)) }
            XCTAssertEqual(a.toArray(), b.toArray(), prefix)
            let expected = try ModelFixtures.tensor("\(prefix)_logits.npy")
            XCTAssertEqual(b.count, expected.count)
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(b, expected), 1e-4, prefix)
        }
    }

    func testMoEIsRefused() throws {
        var config = try ModelFixtures.qwenConfig()
        config.moe = MoEConfig(flavour: .minimind3, expertIntermediateSize: 64)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hf-moe-\(UUID().uuidString)")
        XCTAssertThrowsError(try TransformersLMExport.write(try MiniMindLM(config: config), tokenizerFiles: nil, to: folder)) {
            XCTAssertTrue("\($0)".contains("MoE"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path))
    }
}
