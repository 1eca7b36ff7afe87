import XCTest
@testable import MiniMindTensor

/// The token-major attention ([B, T, H, D] in and out) against the head-major one on the same values
/// permuted to [B, H, T, D] (that one is checked against a Double reference and finite differences in
/// OpsBAttentionTests, and the model using this one against PyTorch in TrainingParityTests): outputs
/// and the gradients of q, k and v, to float32 summation-order tolerance.
final class AttentionTokenMajorTests: XCTestCase {
    struct Case {
        var b = 2, hq = 4, hkv = 2, tq = 9, tk = 9, d = 8, dv = 8
        var causal = true
        var keep: [Bool]? = nil
        var dropout: AttentionDropout? = nil
    }

    private func compare(_ c: Case, _ name: String, tolerance: Double = 2e-5, file: StaticString = #filePath, line: UInt = #line) {
        let headQ = OpCheck.random([c.b, c.hq, c.tq, c.d], seed: 1), headK = OpCheck.random([c.b, c.hkv, c.tk, c.d], seed: 2)
        let headV = OpCheck.random([c.b, c.hkv, c.tk, c.dv], seed: 3), probe = OpCheck.random([c.b, c.hq, c.tq, c.dv], seed: 4)
        let mask = c.keep.map { Tensor(shape: [c.b, c.tk], data: $0.map { $0 ? 1 : 0 }) }
        func leaf(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, data: t.toArray(), requiresGrad: true) }
        let (q1, k1, v1) = (leaf(headQ), leaf(headK), leaf(headV))
        let want = scaledDotProductAttention(q: q1, k: k1, v: v1, causal: c.causal, keyPaddingMask: mask, dropout: c.dropout)
        (want * probe).sum().backward()
        let tokenMajor = [0, 2, 1, 3]
        let (q2, k2, v2) = (leaf(headQ.permuted(tokenMajor)), leaf(headK.permuted(tokenMajor)), leaf(headV.permuted(tokenMajor)))
        let got = scaledDotProductAttention(tokenMajorQ: q2, k: k2, v: v2, causal: c.causal, keyPaddingMask: mask, dropout: c.dropout)
        XCTAssertEqual(got.shape, [c.b, c.tq, c.hq, c.dv], name, file: file, line: line)
        (got * probe.permuted(tokenMajor)).sum().backward()
        let pairs: [(String, Tensor, Tensor)] = [("output", got, want.permuted(tokenMajor))]
            + zip(["dq", "dk", "dv"], zip([q2, k2, v2], [q1, k1, v1])).map { ($0, $1.0.grad!, $1.1.grad!.permuted(tokenMajor)) }
        for (what, a, b) in pairs {
            XCTAssertLessThanOrEqual(maxRelativeError(a.toArray(), b.toArray()), tolerance, "\(name): \(what)", file: file, line: line)
        }
    }

    func testCausalGroupedQuery() { compare(Case(), "causal GQA") }

    func testBidirectionalWithPadding() {
        var c = Case(causal: false)
        c.keep = (0..<(c.b * c.tk)).map { $0 % 4 != 1 }
        compare(c, "bidirectional, padding")
    }

    func testDecodeQueriesAndRowsThatSeeNothing() {
        var c = Case(tq: 3, tk: 7)
        c.keep = (0..<(c.b * c.tk)).map { $0 >= 5 && $0 < 7 ? false : true }
        compare(c, "3 queries at the end of 7 keys")
        compare(Case(tq: 12, tk: 7), "more queries than keys: the first rows see no key")
    }

    func testSmallBlocks() {
        let (rows, elements) = (AttentionKernel.causalBlockRows, AttentionKernel.blockElements)
        defer { AttentionKernel.causalBlockRows = rows; AttentionKernel.blockElements = elements }
        AttentionKernel.causalBlockRows = 2
        compare(Case(tq: 11, tk: 11), "causal blocks of 2 rows")
        AttentionKernel.blockElements = 7
        compare(Case(tq: 11, tk: 11, causal: false), "blocks of one row")
    }

    func testDropoutRowsAreTheHeadMajorOnes() {
        compare(Case(tq: 16, tk: 16, dropout: AttentionDropout(p: 0.3, seed: 9)), "dropout")
    }

    func testValueDimensionDiffersFromHeadDimension() { compare(Case(hq: 6, hkv: 3, d: 8, dv: 5), "Dv ≠ D") }
}
