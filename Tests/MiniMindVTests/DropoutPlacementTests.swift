import XCTest
@testable import MiniMindV

/// Where a decoder block applies `TrainingDropout` in training mode: on the attention probabilities
/// (one seed per attention call), after `o_proj` and after the feed-forward, in that order from one
/// generator; and that p = 0 trains bit for bit as without dropout.
final class DropoutPlacementTests: XCTestCase {
    func tinyLM() throws -> MiniMindLM {
        let config = LanguageModelConfig(vocabSize: 64, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2,
                                         headDim: 8, intermediateSize: 64, rmsNormEps: 1e-5, maxPositionEmbeddings: 64, qkNorm: false)
        return try MiniMindLM(config: config, seed: 4)
    }

    /// The block's training output equals the composition written out by hand with the same draws.
    func testBlockDropsProbabilitiesThenOutputs() throws {
        let lm = try tinyLM()
        let block = lm.model.layers[0]
        let x = OpCheckInput.random([2, 7, 32], seed: 5)
        let p: Float = 0.3
        lm.trainingDropout = TrainingDropout(p: p, seed: 11)
        lm.train()
        defer { lm.eval(); lm.trainingDropout = nil }
        let ours = noGrad { block(x, rope: lm.rope) }.toArray()

        var g = SeededGenerator(seed: 11)
        let expected: [Float] = noGrad {
            let attention = AttentionDropout(p: p, seed: g.next())
            let attn = block.selfAttn(block.inputLayernorm(x), rope: lm.rope, dropout: attention)
            let a = x + dropout(attn, p: p, training: true, generator: &g)
            let ffn = block.dense!(block.postAttentionLayernorm(a))
            return (a + dropout(ffn, p: p, training: true, generator: &g)).toArray()
        }
        XCTAssertEqual(ours, expected)
        // Without the probability dropout the block gives something else: it is really applied.
        var h = SeededGenerator(seed: 11)
        _ = h.next()
        let withoutProbabilities: [Float] = noGrad {
            let a = x + dropout(block.selfAttn(block.inputLayernorm(x), rope: lm.rope), p: p, training: true, generator: &h)
            let ffn = block.dense!(block.postAttentionLayernorm(a))
            return (a + dropout(ffn, p: p, training: true, generator: &h)).toArray()
        }
        XCTAssertNotEqual(ours, withoutProbabilities)
    }

    /// p = 0 in training mode: the loss and every gradient equal those without dropout, bit for bit.
    func testZeroRateTrainsAsWithoutDropout() throws {
        let lm = try tinyLM()
        let ids = (0..<14).map { ($0 * 7 + 3) % 64 }
        func lossAndGrads(_ dropout: TrainingDropout?) -> [[Float]] {
            lm.trainingDropout = dropout
            lm.train()
            defer { lm.eval(); lm.trainingDropout = nil }
            for t in lm.parameters() { t.requiresGrad = true; t.grad = nil }
            let logits = lm.logits(embeddings: lm.embed(ids, batch: 2), keyPaddingMask: nil)
            let loss = crossEntropy(logits: logits.reshaped([14, 64]), targets: ids.map { ($0 + 1) % 64 })
            loss.backward()
            return [[loss.item]] + lm.parameters().map { $0.grad?.toArray() ?? [] }
        }
        let plain = lossAndGrads(nil)
        XCTAssertEqual(lossAndGrads(TrainingDropout(p: 0, seed: 3)), plain)
        XCTAssertNotEqual(lossAndGrads(TrainingDropout(p: 0.2, seed: 3)), plain)
    }
}

/// Seeded random inputs for the tests of this file.
enum OpCheckInput {
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randn(shape, generator: &g)
    }
}
