import XCTest
@testable import MiniMindV

/// Quantised weights (int8 per output channel, int4 in groups of 32): the quantiser against numpy's
/// computation of the same definition (Scripts/gen_compression_fixtures.py) and against the error
/// bound the definition implies, the int8/int4 kernels against a Double sum, and the tiny models with
/// quantised decoder layers against transformers run with the dequantised weights.
final class QuantizedWeightsTests: XCTestCase {
    static let folder = ModelFixtures.folder.deletingLastPathComponent().appendingPathComponent("compression")

    func fixture(_ name: String) throws -> TensorData { try NPYFile.read(Self.folder.appendingPathComponent(name)) }
    func floats(_ name: String) throws -> [Float] { try fixture(name).toTensor().toArray() }
    func ints(_ name: String) throws -> [Int] { try fixture(name).int64Values().map { Int($0) } }

    func testInt8PerChannelEqualsNumpy() throws {
        let w = try floats("quant_w.npy")
        let (q, s) = try XCTUnwrap(w.withUnsafeBufferPointer { WeightQuantizer.quantize($0.baseAddress!, rows: 40, cols: 96, group: 96, bits: 8) })
        XCTAssertEqual(q.map(Int.init), try ints("int8_values.npy"))
        XCTAssertEqual(s, try floats("int8_scales.npy"))
    }

    func testInt4GroupsWithF16ScalesEqualNumpy() throws {
        let w = try floats("quant_w.npy")
        let (q, s) = try XCTUnwrap(w.withUnsafeBufferPointer {
            WeightQuantizer.quantize($0.baseAddress!, rows: 40, cols: 96, group: 32, bits: 4) { WeightQuantization.storedScale($0, .f16) }
        })
        XCTAssertEqual(q.map(Int.init), try ints("int4_values.npy"))
        XCTAssertEqual(s, try floats("int4_scales.npy"))
        XCTAssertEqual(WeightQuantizer.packNibbles(q, rows: 40, cols: 96).map(Int.init), try ints("int4_packed.npy"))
    }

    /// |w − q·s| ≤ s/2 for every element, with s = max|w|/qmax of its group computed here in Double
    /// (the stored scale may round it: the bound is checked against the stored one too).
    func testErrorWithinHalfAScaleFromTheDefinition() throws {
        var g = SeededGenerator(seed: 3)
        let rows = 9, cols = 128
        var w = Tensor.randn([rows, cols], generator: &g).toArray()
        w[5] = 40  // an outlier
        for c in 64..<96 { w[2 * cols + c] = 0 }  // an all-zero group
        for (bits, group, dtype) in [(8, cols, DType.f32), (8, cols, .f16), (4, 32, .f16), (4, 32, .f32)] {
            let (q, s) = try XCTUnwrap(w.withUnsafeBufferPointer {
                WeightQuantizer.quantize($0.baseAddress!, rows: rows, cols: cols, group: group, bits: bits) { WeightQuantization.storedScale($0, dtype) }
            })
            let qmax = Double(bits == 8 ? 127 : 7)
            for e in 0..<(rows * cols) {
                let start = e / group * group
                let reference = Double(w[start..<start + group].map { abs($0) }.max()!) / qmax
                XCTAssertEqual(Double(s[e / group]), reference, accuracy: reference * (dtype == .f16 ? 1e-3 : 1e-6), "scale of group \(e / group)")
                XCTAssertLessThanOrEqual(abs(Double(q[e])), qmax)
                let error = abs(Double(w[e]) - Double(q[e]) * Double(s[e / group]))
                XCTAssertLessThanOrEqual(error, Double(s[e / group]) / 2 * (1 + 1e-6), "int\(bits) \(dtype) element \(e)")
                XCTAssertLessThanOrEqual(error, reference / 2 * (1 + 2e-3) + 1e-30, "int\(bits) \(dtype) element \(e) against the definition's scale")
            }
        }
        var bad = w
        bad[7] = .nan
        XCTAssertNil(bad.withUnsafeBufferPointer { WeightQuantizer.quantize($0.baseAddress!, rows: rows, cols: cols, group: 32, bits: 4) })
    }

    /// y = x·Wᵀ (and += with `accumulate`) through the int8-per-channel and int4 kernels against Σ in Double.
    func testKernelsEqualNaiveReference() throws {
        let w = try floats("quant_w.npy")
        let (v8, v4) = (try ints("int8_values.npy"), try ints("int4_values.npy"))
        let int8 = PackedMatrix(rows: 40, cols: 96, bits: 8, group: 96, scales: try floats("int8_scales.npy")) { v8[$0] }
        let int4 = PackedMatrix(rows: 40, cols: 96, bits: 4, group: 32, scales: try floats("int4_scales.npy")) { v4[$0] }
        for (name, packed, group) in [("int8", int8, 96), ("int4", int4, 32)] {
            let s = try floats("\(name)_scales.npy")
            for r in 0..<40 {
                for c in 0..<96 {
                    XCTAssertEqual(packed.value(row: r, col: c), w[r * 96 + c], accuracy: s[(r * 96 + c) / group] / 2 * 1.000001, "\(name) W[\(r), \(c)]")
                }
            }
            var g = SeededGenerator(seed: 8)
            for m in [1, 3] {
                let x = Tensor.randn([m, 96], generator: &g).toArray()
                let start = Tensor.randn([m, 40], generator: &g).toArray()
                for accumulate in [false, true] {
                    var y = start
                    x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { packed.multiply(xb.baseAddress!, m: m, into: $0.baseAddress!, accumulate: accumulate) } }
                    for i in 0..<m {
                        for r in 0..<40 {
                            var sum = accumulate ? Double(start[i * 40 + r]) : 0, magnitude = 0.0
                            for c in 0..<96 {
                                let p = Double(packed.value(row: r, col: c)) * Double(x[i * 96 + c])
                                sum += p
                                magnitude += abs(p)
                            }
                            XCTAssertEqual(Double(y[i * 40 + r]), sum, accuracy: 1e-5 * (magnitude + 1), "\(name) m \(m) row \(r)")
                        }
                    }
                }
            }
            // Back to natural order: the values and scales a file stores.
            let (values, scales, _) = try XCTUnwrap(packed.quantizedValues())
            XCTAssertEqual(values.map(Int.init), try ints("\(name)_values.npy"))
            XCTAssertEqual(scales, try floats("\(name)_scales.npy"))
            let dense = Tensor.uninitialized([40, 96])
            packed.dequantize(into: dense.mutablePointer)
            for r in 0..<40 { for c in 0..<96 { XCTAssertEqual(dense.pointer[r * 96 + c], packed.value(row: r, col: c)) } }
        }
    }

    /// The tiny llama and qwen3 models with int8/int4 decoder layers: decoding one token at a time
    /// (packed kernels) and the prefill (transient dequantised weights) both equal transformers run
    /// with the dequantised weights within the parity tolerance 1e-4.
    func checkModel(_ prefix: String, _ config: LanguageModelConfig) throws {
        let ids = try ModelFixtures.ints("\(prefix)_ids.npy")
        let f32 = try ModelFixtures.tensor("\(prefix)_logits.npy")
        var previousCost: Float = 0
        for scheme in WeightQuantization.Scheme.allCases {
            let lm = try MiniMindLM(config: config)
            try lm.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")))
            lm.eval()
            let count = try QuantizedWeights.quantize(lm, WeightQuantization(scheme))
            XCTAssertEqual(count, 7 * config.numHiddenLayers)
            XCTAssertFalse(lm.stateDict().contains { $0.0.hasSuffix("proj.weight") }, "no float32 copy of quantised weights")
            let expected = try fixture("\(prefix)_\(scheme.rawValue)_logits.npy").toTensor()
            let cache = lm.makeCache(batch: 1, maxLength: ids.count)
            let decoded = Tensor.concat(ids.map { id in noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: cache) } }, axis: 1)
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(decoded, expected), 1e-4, "\(prefix) \(scheme) decode vs transformers")
            cache.reset()
            let prefill = noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1), cache: cache) }
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(prefill, expected), 1e-4, "\(prefix) \(scheme) prefill vs transformers")
            let cost = ModelFixtures.maxAbsDiff(decoded, f32)
            // The precision's own cost: nonzero, larger for int4 than int8, below the logits' range (int4 on
            // these random N(0, 0.3) weights, whose rows are one or a few groups, costs about half of it).
            let range = f32.toArray().map(abs).max()!
            print("\(prefix) \(scheme): max |logit − f32 logit| = \(cost) (max |f32 logit| \(range))")
            XCTAssertGreaterThan(cost, previousCost)
            XCTAssertLessThan(cost, (scheme == .int8 ? 0.05 : 1) * range)
            previousCost = cost
            // --decode-dtype leaves the quantised layers as they are.
            lm.setDecodeDType(.bf16)
            XCTAssertEqual(QuantizedWeights.layers(of: lm).filter { ($0.layer as? PackedLinear)?.dtype == (scheme == .int8 ? .int8 : .int4) }.count, count)
        }
    }

    func testLlamaQuantisedLogitsEqualTransformersWithDequantisedWeights() throws {
        try checkModel("llama", try ModelFixtures.llamaConfig())
    }

    func testQwen3QuantisedLogitsEqualTransformersWithDequantisedWeights() throws {
        try checkModel("qwen3", try ModelFixtures.qwenConfig())
    }
}
