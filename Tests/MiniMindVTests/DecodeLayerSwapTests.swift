import XCTest
@testable import MiniMindV

/// Fast decode is a layer swap (`PackedLinear` in place of `Linear`, same tensors and keys), and
/// every path honours biases and an untied head. Reference: transformers `LlamaForCausalLM` with
/// `tie_word_embeddings=False`, `attention_bias` and `mlp_bias` (Scripts/gen_untied_bias_fixture.py).
final class DecodeLayerSwapTests: XCTestCase {
    static let prefix = "llama_untied_bias"

    /// The fixture model: untied head from the config, zero biases swapped into every projection
    /// (MiniMind's own configs have none), then the transformers weights loaded strictly.
    static func loadModel() throws -> MiniMindLM {
        let config = try JSONDecoder().decode(LanguageModelConfig.self,
                                              from: Data(contentsOf: ModelFixtures.url("\(prefix)_config.json")))
        XCTAssertFalse(config.tieWordEmbeddings)
        let lm = try MiniMindLM(config: config)
        lm.swapLinears { path, layer in
            path == "lm_head" ? layer : Linear(weight: layer.weight, bias: Tensor.zeros([layer.outFeatures]))
        }
        try lm.loadLanguageWeights(try ModelFixtures.weights("\(prefix).safetensors"))
        lm.eval()
        return lm
    }

    /// Decoding one token at a time through the cache (each row of the last `rows` steps).
    static func decodeSteps(_ lm: MiniMindLM, _ ids: [Int]) -> Tensor {
        let cache = lm.makeCache(batch: 1, maxLength: ids.count)
        return Tensor.concat(ids.map { id in noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: cache) } }, axis: 1)
    }

    func testUntiedBiasedModelMatchesTransformersInEveryPath() throws {
        let ids = try ModelFixtures.ints("\(Self.prefix)_ids.npy")
        let expected = try ModelFixtures.tensor("\(Self.prefix)_logits.npy")
        let lm = try Self.loadModel()
        XCTAssertFalse(lm.lmHead.weight === lm.model.embedTokens.weight, "the untied head is its own tensor")
        XCTAssertNotNil(lm.model.layers[0].selfAttn.oProj.bias)

        let full = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1)) }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(full, expected), 1e-4, "full forward vs transformers")
        // Decode steps fuse o_proj/down_proj into the residual (Linear.accumulate): the biases must be there.
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(Self.decodeSteps(lm, ids), expected), 1e-4, "decode steps vs transformers")
        let prefill = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1), cache: lm.makeCache(batch: 1, maxLength: ids.count)) }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(prefill, expected), 1e-4, "cached prefill vs transformers")

        // The batched slot step (continuous batching) over two sequences at different lengths.
        let caches = [lm.makeCache(batch: 1, maxLength: ids.count), lm.makeCache(batch: 1, maxLength: ids.count)]
        _ = noGrad { lm.logits(embeddings: lm.embed(Array(ids.prefix(5)), batch: 1), cache: caches[0]) }
        _ = noGrad { lm.logits(embeddings: lm.embed(Array(ids.prefix(8)), batch: 1), cache: caches[1]) }
        let step = noGrad { lm.logits(embeddings: lm.embed([ids[5], ids[8]], batch: 2), caches: caches) }.toArray()
        let vocab = lm.config.vocabSize, want = expected.toArray()
        for (row, position) in [5, 8].enumerated() {
            let got = Array(step[(row * vocab)..<((row + 1) * vocab)]), ref = Array(want[(position * vocab)..<((position + 1) * vocab)])
            XCTAssertLessThanOrEqual(zip(got, ref).map { abs($0 - $1) }.max() ?? .nan, 1e-4, "slot step row \(row)")
        }
    }

    /// Without the biases the logits are far from the reference, so the checks above can fail.
    func testBiasesMatterInTheFixture() throws {
        let ids = try ModelFixtures.ints("\(Self.prefix)_ids.npy")
        let expected = try ModelFixtures.tensor("\(Self.prefix)_logits.npy")
        let lm = try Self.loadModel()
        lm.swapLinears { path, layer in path.hasSuffix("o_proj") || path.hasSuffix("down_proj") ? Linear(weight: layer.weight) : layer }
        XCTAssertGreaterThan(ModelFixtures.maxAbsDiff(Self.decodeSteps(lm, ids), expected), 0.1)
    }

    /// bf16 and int8 decode swap in `PackedLinear`s over the same tensors (keys and trainability
    /// unchanged) and, bias included, equal the float forward of the dequantised weights.
    func testPackedLayersKeepKeysAndHonourBias() throws {
        let ids = try ModelFixtures.ints("\(Self.prefix)_ids.npy")
        let lm = try Self.loadModel()
        let keys = lm.stateDict().map(\.0)
        for dtype in [DecodeDType.bf16, .int8] {
            lm.setDecodeDType(dtype)
            XCTAssertEqual(lm.stateDict().map(\.0), keys, "\(dtype): same keys")
            XCTAssertTrue(lm.model.layers[1].mlp(isPacked: dtype), "\(dtype): down_proj swapped")
            XCTAssertGreaterThan(lm.decodeWeightBytes, 0)

            // The reference: the float model with every packed weight replaced by its dequantised values.
            let reference = try Self.loadModel()
            reference.swapLinears { _, layer in
                let packed = PackedMatrix(layer.weight.pointer, rows: layer.outFeatures, cols: layer.inFeatures, dtype: dtype)!
                let w = layer.weight.mutablePointer
                for r in 0..<layer.outFeatures { for c in 0..<layer.inFeatures { w[r * layer.inFeatures + c] = packed.value(row: r, col: c) } }
                return layer
            }
            let want = noGrad { reference.logits(embeddings: reference.embed(ids, batch: 1)) }
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(Self.decodeSteps(lm, ids), want), 1e-4, "\(dtype) decode vs dequantised forward")
        }
        lm.setDecodeDType(.f32)
        XCTAssertFalse(lm.model.layers[1].mlp(isPacked: .bf16))
        XCTAssertEqual(lm.decodeWeightBytes, 0)
    }
}

private extension DecoderBlock {
    func mlp(isPacked dtype: DecodeDType) -> Bool {
        guard let down = dense?.downProj as? PackedLinear else { return false }
        return down.dtype == dtype
    }
}
