import XCTest
@testable import MiniMindV

/// Packed decode weights (bf16, int8 blocks): the rounding against torch, the kernels against a
/// naive Double sum over the dequantised values, and the tiny models' decode logits against
/// transformers run with the same dequantised weights (Scripts/gen_decode_fixtures.py).
final class DecodeWeightsTests: XCTestCase {
    static let folder = ModelFixtures.folder.deletingLastPathComponent().appendingPathComponent("decode")

    func fixture(_ name: String) throws -> TensorData { try NPYFile.read(Self.folder.appendingPathComponent(name)) }

    func testBF16RoundingEqualsTorch() throws {
        let values = try fixture("bf16_values.npy").toTensor().toArray()
        let bits = try fixture("bf16_bits.npy").int64Values()
        XCTAssertEqual(values.count, bits.count)
        for (v, b) in zip(values, bits) { XCTAssertEqual(Int64(BFloat16Bits.round(v)), b, "bf16 of \(v)") }
    }

    func randomMatrix(rows: Int, cols: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        var w = Tensor.randn([rows, cols], generator: &g).toArray()
        for c in 0..<Swift.min(32, cols) { w[c] = 0 }  // an all-zero int8 block (scale 0)
        return w
    }

    /// y = x·Wᵀ and y += x·Wᵀ for 1 and 3 input rows against Σ in Double over the dequantised W.
    func checkKernel(_ dtype: DecodeDType, rows: Int, cols: Int) throws {
        let w = randomMatrix(rows: rows, cols: cols, seed: 5)
        let packed = try XCTUnwrap(w.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: rows, cols: cols, dtype: dtype) })
        for m in [1, 3] {
            var g = SeededGenerator(seed: 6)
            let x = Tensor.randn([m, cols], generator: &g).toArray()
            let start = Tensor.randn([m, rows], generator: &g).toArray()
            for accumulate in [false, true] {
                var y = start
                x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { packed.multiply(xb.baseAddress!, m: m, into: $0.baseAddress!, accumulate: accumulate) } }
                for i in 0..<m {
                    for r in 0..<rows {
                        var sum = accumulate ? Double(start[i * rows + r]) : 0, magnitude = 0.0
                        for c in 0..<cols {
                            let p = Double(packed.value(row: r, col: c)) * Double(x[i * cols + c])
                            sum += p
                            magnitude += abs(p)
                        }
                        // float32 accumulation of `cols` products: relative to Σ|w·x|.
                        XCTAssertEqual(Double(y[i * rows + r]), sum, accuracy: 1e-5 * (magnitude + 1), "\(dtype) m \(m) row \(r)")
                    }
                }
            }
        }
    }

    func testBF16KernelEqualsNaiveReference() throws {
        try checkKernel(.bf16, rows: 37, cols: 83)  // a tail after the 16-value groups
        try checkKernel(.bf16, rows: 70, cols: 512)
    }

    func testInt8KernelEqualsNaiveReference() throws {
        try checkKernel(.int8, rows: 37, cols: 96)
        try checkKernel(.int8, rows: 70, cols: 512)
    }

    func testInt4KernelEqualsNaiveReference() throws {
        try checkKernel(.int4, rows: 37, cols: 96)  // an odd number of groups: the last pair half used
        try checkKernel(.int4, rows: 70, cols: 512)
    }

    /// Q8_0's definition: per block of 32, scale max|w|/127 and |dequantised − w| ≤ scale/2.
    func testInt8BlocksFollowTheDefinition() throws {
        let rows = 5, cols = 64
        let w = randomMatrix(rows: rows, cols: cols, seed: 7)
        let packed = try XCTUnwrap(w.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: rows, cols: cols, dtype: .int8) })
        for r in 0..<rows {
            for b in 0..<(cols / 32) {
                let block = (0..<32).map { w[r * cols + b * 32 + $0] }
                let scale = block.map(abs).max()! / 127
                for j in 0..<32 {
                    XCTAssertLessThanOrEqual(abs(packed.value(row: r, col: b * 32 + j) - block[j]), scale / 2 * 1.0001 + 1e-12)
                }
            }
        }
        XCTAssertNil(w.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: 1, cols: 48, dtype: .int8) }, "48 is not whole blocks")
        XCTAssertNil(w.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: 1, cols: 32, dtype: .f32) })
    }

    func loadLM(_ prefix: String, _ config: LanguageModelConfig) throws -> MiniMindLM {
        let lm = try MiniMindLM(config: config)
        try lm.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")))
        lm.eval()
        return lm
    }

    /// Decoding the fixture prompt one token at a time (every linear through the packed kernel)
    /// equals transformers with the dequantised weights within the parity tolerance 1e-4. The
    /// distance to float32 is the precision's own cost (printed; bounded loosely so a packing bug
    /// that still matched some other reference would show).
    func checkModel(_ prefix: String, _ config: LanguageModelConfig) throws {
        let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
        let f32 = try ModelFixtures.tensor("\(prefix)_logits.npy")
        let lm = try loadLM(prefix, config)
        for dtype in [DecodeDType.bf16, .int8] {
            lm.setDecodeDType(dtype)
            XCTAssertEqual(lm.decodeDType, dtype)
            XCTAssertGreaterThan(lm.decodeWeightBytes, 0)
            let expected = try fixture("\(prefix)_\(dtype.rawValue)_logits.npy").toTensor()
            let cache = lm.makeCache(batch: 1, maxLength: ids.count)
            let rows = ids.map { id in noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: cache) } }
            let decoded = Tensor.concat(rows, axis: 1)
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(decoded, expected), 1e-4, "\(prefix) \(dtype) vs transformers")
            let cost = ModelFixtures.maxAbsDiff(decoded, f32)
            print("\(prefix) \(dtype): max |logit − f32 logit| = \(cost)")
            XCTAssertGreaterThan(cost, 0, "\(prefix) \(dtype) must differ from f32")
            XCTAssertLessThan(cost, 1, "\(prefix) \(dtype) error against f32")

            // A prefill (more rows than DecodeWeights.maxRows) still multiplies the float32 weights.
            cache.reset()
            let prefill = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1), cache: cache) }
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(prefill, f32), 1e-4, "\(prefix) \(dtype) prefill stays f32")
        }
        lm.setDecodeDType(.f32)
        XCTAssertEqual(lm.decodeWeightBytes, 0)
    }

    func testLlamaDecodeLogitsEqualTransformersWithDequantisedWeights() throws {
        try checkModel("llama", try ModelFixtures.llamaConfig())
    }

    func testQwen3DecodeLogitsEqualTransformersWithDequantisedWeights() throws {
        try checkModel("qwen3", try ModelFixtures.qwenConfig())
    }
}
