import XCTest
@testable import MiniMindTensor

/// `--compute bf16` attention (token-major, the language model's): every block's products run on
/// head-major bfloat16 copies of q, k, v and the output gradient (rounded once per call) and of the
/// block's P and dS (rounded as written), into dense results copied to the token-major rows. Against the same attention in float32 (itself checked against a Double
/// reference and PyTorch: AttentionTokenMajorTests, OpsBAttentionTests, TrainingParityTests): the
/// output and the q, k, v gradients within a few bf16 roundings, and not equal to float32 where bf16
/// runs, so what is checked is the bf16 path. A wrong offset into a rounded copy, or a block's rows
/// multiplied against another head's, errs by the values' own size.
final class AttentionBF16Tests: XCTestCase {
    /// The float32 tests' cases; each below gives heads of 32 dimensions (bf16 needs ≥ 32) but the last.
    typealias Case = AttentionTokenMajorTests.Case

    /// bf16 rounds each operand to 8 significant bits (relative error ≤ 2⁻⁹); scores of |s| up to
    /// ~10 pass that on through exp, and the gradients go through two such products.
    let tolerance = 0x1p-6

    private func run(_ c: Case, _ precision: ComputePrecision) -> [[Float]] {
        Compute.withPrecision(precision) {
            func leaf(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, data: t.toArray(), requiresGrad: true) }
            let q = leaf(OpCheck.random([c.b, c.tq, c.hq, c.d], seed: 1)), k = leaf(OpCheck.random([c.b, c.tk, c.hkv, c.d], seed: 2))
            let v = leaf(OpCheck.random([c.b, c.tk, c.hkv, c.dv], seed: 3)), probe = OpCheck.random([c.b, c.tq, c.hq, c.dv], seed: 4)
            let mask = c.keep.map { Tensor(shape: [c.b, c.tk], data: $0.map { $0 ? 1 : 0 }) }
            let out = scaledDotProductAttention(tokenMajorQ: q, k: k, v: v, causal: c.causal, keyPaddingMask: mask, dropout: c.dropout)
            (out * probe).sum().backward()
            return [out.toArray(), q.grad!.toArray(), k.grad!.toArray(), v.grad!.toArray()]
        }
    }

    private func compare(_ c: Case, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let f = run(c, .f32), h = run(c, .bf16)
        for (i, what) in ["output", "dq", "dk", "dv"].enumerated() {
            let err = maxRelativeError(h[i], f[i])
            XCTAssertLessThanOrEqual(err, tolerance, "\(name): \(what)", file: file, line: line)
            if Compute.bf16Available { XCTAssertGreaterThan(err, 0, "\(name): \(what) did not run in bf16", file: file, line: line) }
            print("\(name) \(what): max |bf16 − f32| / (|f32| + max |f32|) = \(err)")
        }
    }

    func testCausalGroupedQueryOverTwoBlocks() { compare(Case(tq: 150, tk: 150, d: 32, dv: 32), "causal GQA, 150 rows") }

    func testSmallBlocksAndAPartialLast() {
        let rows = AttentionKernel.causalBlockRows
        defer { AttentionKernel.causalBlockRows = rows }
        AttentionKernel.causalBlockRows = 16
        compare(Case(tq: 70, tk: 70, d: 32, dv: 32), "causal blocks of 16 rows")
    }

    func testBidirectionalWithPaddingAndValueDimensionOfItsOwn() {
        var c = Case(tq: 64, tk: 64, d: 32, dv: 48, causal: false)
        c.keep = (0..<(c.b * c.tk)).map { $0 % 5 != 2 }
        compare(c, "bidirectional, padding, Dv 48")
    }

    func testDropout() { compare(Case(tq: 96, tk: 96, d: 32, dv: 32, dropout: AttentionDropout(p: 0.2, seed: 5)), "dropout") }

    func testHeadsBelowThirtyTwoDimensionsStayFloat32() {
        let c = Case(tq: 40, tk: 40, d: 16, dv: 16)
        XCTAssertEqual(run(c, .bf16), run(c, .f32), "16-dimensional heads: the float32 products")
    }
}
