import XCTest
import TestSupport
@testable import MiniMindTensor

/// `EncoderInference`, the frozen encoder forward (vision towers under noGrad): its pointwise kernels
/// (Swift, and C with AVX-512 where the CPU has it) against Double references, and its attention and
/// MLP against the general ops they replace. (The towers' end-to-end checks against transformers are
/// MiniMindVTests' `VisionParityTests`.)
final class EncoderInferenceTests: XCTestCase {
    var kernels: [DecodeKernel] { DecodeKernel.current == .avx512 ? [.portable, .avx512] : [.portable] }

    override func tearDown() { EncoderInference.kernel = .current }

    func testActivationsAndTheirRoundingAgainstDouble() {
        // 1,000 + 5 values: whole vectors and a tail; scale 6 reaches both saturating sides.
        let x = (0..<1_005).map { Float(sin(Double($0) * 1.37) * 6) } + [-1e30, -100, 0, 100, 1e30]
        let references: [(EncoderInference.Activation, (Double) -> Double)] = [
            (.quickGelu, { $0 / (1 + Foundation.exp(-1.702 * $0)) }),
            (.geluTanh, { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
        ]
        for kernel in kernels {
            EncoderInference.kernel = kernel
            for (activation, reference) in references {
                var y = x
                var bits = [UInt16](repeating: 0, count: x.count)
                y.withUnsafeMutableBufferPointer { yp in
                    bits.withUnsafeMutableBufferPointer { bp in
                        EncoderInference.activate(yp.baseAddress!, bp.baseAddress!, 0..<x.count, activation)
                    }
                }
                for i in x.indices {
                    let ref = abs(x[i]) > 1e4 ? (x[i] > 0 ? Double(x[i]) : 0) : reference(Double(x[i]))
                    XCTAssertEqual(Double(y[i]), ref, accuracy: 2e-6 * max(1, abs(ref)), "\(kernel) \(activation)(\(x[i]))")
                    XCTAssertEqual(bits[i], BFloat16Bits.round(y[i]), "\(kernel) \(activation): bf16 of \(y[i])")
                }
            }
        }
    }

    func testSoftmaxRowsAgainstDouble() {
        let rows = 19, count = 37, ld = 48, scale: Float = 0.125
        var scores = (0..<rows * ld).map { Float(cos(Double($0) * 0.71) * 40) }
        for j in 0..<count { scores[3 * ld + j] = -.infinity }  // a row with nothing visible
        scores[5 * ld + 2] = -.infinity
        for kernel in kernels {
            EncoderInference.kernel = kernel
            var s = scores
            s.withUnsafeMutableBufferPointer { EncoderInference.softmaxRows($0.baseAddress!, rows: rows, count: count, ld: ld, scale: scale) }
            for r in 0..<rows {
                let row = (0..<count).map { Double(scores[r * ld + $0]) * Double(scale) }
                let top = row.max()!
                let e = row.map { top == -.infinity ? 0 : Foundation.exp($0 - top) }
                let sum = e.reduce(0, +)
                for j in 0..<count {
                    XCTAssertEqual(Double(s[r * ld + j]), sum == 0 ? 0 : e[j] / sum, accuracy: 1e-6, "\(kernel) row \(r) key \(j)")
                }
            }
        }
    }

    /// Against `linear`, `scaledDotProductAttention` on permuted heads, and the activation ops.
    func testAttentionAndMLPMatchTheGeneralOps() throws {
        var g = SeededGenerator(seed: 11)
        let hidden = 32, heads = 4, inner = 64
        let layers = (0..<6).map { i in Linear(hidden, i == 4 ? inner : hidden, generator: &g) }
        let fc2 = Linear(inner, hidden, generator: &g)
        let x = Tensor.randn([2, 19, hidden], generator: &g)
        let (q, k, v) = (layers[0], layers[1], layers[2])
        let split = { (y: Tensor) in y.reshaped([2, 19, heads, hidden / heads]).permuted([0, 2, 1, 3]) }
        let attention = noGrad {
            scaledDotProductAttention(q: split(q(x)), k: split(k(x)), v: split(v(x)), causal: false)
                .permuted([0, 2, 1, 3]).reshaped([2, 19, hidden]).toArray()
        }
        let mlp = noGrad { fc2(quickGelu(layers[4](x))).toArray() }
        for kernel in kernels {
            EncoderInference.kernel = kernel
            let o = try XCTUnwrap(noGrad { EncoderInference.selfAttention(x, heads: heads, q: q, k: k, v: v) })
            XCTAssertEqual(o.shape, [2, 19, hidden])
            XCTAssertClose(o.toArray(), attention, tolerance: 1e-5, relativeToOne, "attention, \(kernel)")
            let y = try XCTUnwrap(noGrad { EncoderInference.mlp(x, fc1: layers[4], fc2: fc2, activation: .quickGelu) })
            XCTAssertClose(y.toArray(), mlp, tolerance: 1e-5, relativeToOne, "MLP, \(kernel)")
        }
    }

    /// residual + layer(x) in one output pass, with and without bias, in float32 and bf16.
    func testResidualFormsMatchLinearPlusResidual() throws {
        let saved = GEMMRoute.bf16Minimum
        GEMMRoute.bf16Minimum = (2, 8, 8)
        defer { GEMMRoute.bf16Minimum = saved }
        var g = SeededGenerator(seed: 14)
        let withBias = Linear(32, 48, generator: &g), noBias = Linear(32, 48, bias: false, generator: &g)
        let fc1 = Linear(32, 64, generator: &g), fc2 = Linear(64, 48, generator: &g)
        let x = Tensor.randn([1, 21, 32], generator: &g), residual = Tensor.randn([1, 21, 48], generator: &g)
        for precision in [ComputePrecision.f32, .bf16] {
            try Compute.withPrecision(precision) {
                try noGrad {
                    for layer in [withBias, noBias] {
                        let y = try XCTUnwrap(EncoderInference.linear(x, layer, plus: residual))
                        XCTAssertClose(y.toArray(), (residual + layer(x)).toArray(), tolerance: 1e-5, relativeToOne, "\(precision)")
                    }
                    let mlp = try XCTUnwrap(EncoderInference.mlp(x, fc1: fc1, fc2: fc2, activation: .geluTanh))
                    let y = try XCTUnwrap(EncoderInference.mlp(x, fc1: fc1, fc2: fc2, activation: .geluTanh, plus: residual))
                    XCTAssertClose(y.toArray(), (residual + mlp).toArray(), tolerance: 1e-5, relativeToOne, "MLP, \(precision)")
                    XCTAssertNil(EncoderInference.linear(x, withBias, plus: x), "residual of the wrong shape")
                }
            }
        }
    }

    /// The pre-norm blocks (LayerNorm, in bf16 rounded in the same pass) against the general ops.
    func testBlocksMatchTheGeneralOps() throws {
        let saved = GEMMRoute.bf16Minimum
        GEMMRoute.bf16Minimum = (2, 8, 8)
        defer { GEMMRoute.bf16Minimum = saved }
        var g = SeededGenerator(seed: 15)
        let hidden = 32, heads = 4
        let (q, k, v, out) = (Linear(hidden, hidden, generator: &g), Linear(hidden, hidden, generator: &g),
                              Linear(hidden, hidden, generator: &g), Linear(hidden, hidden, generator: &g))
        let fc1 = Linear(hidden, 64, generator: &g), fc2 = Linear(64, hidden, generator: &g)
        let norm = LayerNorm(hidden)
        for i in 0..<hidden {  // not the identity affine map
            norm.weight?.mutablePointer[i] = 0.5 + 0.1 * Float(i % 7)
            norm.bias?.mutablePointer[i] = 0.05 * Float(i % 5) - 0.1
        }
        let x = Tensor.randn([1, 21, hidden], generator: &g)
        let split = { (y: Tensor) in y.reshaped([1, 21, heads, hidden / heads]).permuted([0, 2, 1, 3]) }
        for (precision, tolerance) in [(ComputePrecision.f32, 1e-5), (.bf16, 1e-4)] {
            try Compute.withPrecision(precision) {
                try noGrad {
                    let h = norm(x)
                    let attention = x + out(scaledDotProductAttention(q: split(q(h)), k: split(k(h)), v: split(v(h)), causal: false)
                        .permuted([0, 2, 1, 3]).reshaped([1, 21, hidden]))
                    let a = try XCTUnwrap(EncoderInference.attentionBlock(x, norm: norm, heads: heads, q: q, k: k, v: v, out: out))
                    XCTAssertClose(a.toArray(), attention.toArray(), tolerance: tolerance, relativeToOne, "attention block, \(precision)")
                    let m = try XCTUnwrap(EncoderInference.mlpBlock(x, norm: norm, fc1: fc1, fc2: fc2, activation: .quickGelu))
                    XCTAssertClose(m.toArray(), (x + fc2(quickGelu(fc1(h)))).toArray(), tolerance: tolerance, relativeToOne,
                                   "MLP block, \(precision)")
                }
            }
        }
    }

    /// In bf16, the MLP's fused activation-and-rounding pass feeds fc2 the same bfloat16 values that
    /// `linear` rounds itself: with the Swift kernel (the general op's own code) the bits agree.
    func testBFloat16MLPReadsTheSameRoundedValues() {
        let saved = GEMMRoute.bf16Minimum
        GEMMRoute.bf16Minimum = (2, 8, 8)
        defer { GEMMRoute.bf16Minimum = saved }
        var g = SeededGenerator(seed: 12)
        let fc1 = Linear(32, 64, generator: &g), fc2 = Linear(64, 32, generator: &g)
        let x = Tensor.randn([1, 21, 32], generator: &g)
        EncoderInference.kernel = .portable
        Compute.withPrecision(.bf16) {
            noGrad {
                let general = fc2(quickGelu(fc1(x))).toArray()
                XCTAssertEqual(EncoderInference.mlp(x, fc1: fc1, fc2: fc2, activation: .quickGelu)?.toArray(), general)
            }
        }
    }

    /// A layer with another kernel (a subclass of `Linear`) is left to the general path.
    func testOtherLinearKernelsFallBack() {
        final class Other: Linear {}
        var g = SeededGenerator(seed: 13)
        let plain = Linear(8, 8, generator: &g)
        let other = Other(weight: plain.weight, bias: plain.bias)
        let x = Tensor.randn([1, 3, 8], generator: &g)
        noGrad {
            XCTAssertNil(EncoderInference.selfAttention(x, heads: 2, q: other, k: plain, v: plain))
            XCTAssertNil(EncoderInference.mlp(x, fc1: plain, fc2: other, activation: .quickGelu))
        }
    }
}
