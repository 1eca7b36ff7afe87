import XCTest
@testable import MiniMindTensor

/// Dropout on attention probabilities (`AttentionDropout`): the fused kernel's forward against the
/// naive Double attention with the same mask multiplied into each probability, and its backward
/// against central finite differences of that reference (the mask fixed by the seed), across the
/// kernel's paths; p = 0 is the plain kernel bit for bit.
final class AttentionDropoutTests: XCTestCase {
    typealias Dims = OpsBAttentionTests.Dims
    let check = OpCheck()

    func runCase(_ name: String, _ n: Dims, causal: Bool, keep: [Bool]? = nil, differentiable: [Bool]? = nil,
                 dropout: AttentionDropout, file: StaticString = #filePath, line: UInt = #line) {
        let q = OpCheck.random(n.qShape, seed: 200), k = OpCheck.random(n.kShape, seed: 201)
        let v = OpCheck.random(n.vShape, seed: 202)
        let mask = keep.map { Tensor(shape: [n.b, n.tk], data: $0.map { $0 ? 1 : 0 }) }
        let scale = 1 / Double(n.d).squareRoot()
        check.run(name, inputs: [q, k, v], differentiable: differentiable, op: { x in
            scaledDotProductAttention(q: x[0], k: x[1], v: x[2], causal: causal, keyPaddingMask: mask, dropout: dropout)
        }, reference: { x in
            OpsBAttentionTests.reference(x[0], x[1], x[2], n, causal: causal, keep: keep, scale: scale, dropout: dropout)
        }, file: file, line: line)
    }

    func testForwardAndGradientsMatchTheMaskedReference() {
        let drop = AttentionDropout(p: 0.3, seed: 17)
        runCase("dropout causal GQA", Dims(b: 2, hq: 4, hkv: 2, tq: 5, tk: 5, d: 4, dv: 3), causal: true, dropout: drop)
        runCase("dropout bidirectional", Dims(b: 2, hq: 2, hkv: 2, tq: 3, tk: 5, d: 4, dv: 3), causal: false, dropout: drop)
        let keep = [true, true, true, true, true, true, false, false, true, true, true, true]
        runCase("dropout padding causal GQA", Dims(b: 2, hq: 4, hkv: 2, tq: 6, tk: 6, d: 4, dv: 4), causal: true,
                keep: keep, dropout: drop)
        runCase("dropout 37 keys", Dims(b: 1, hq: 2, hkv: 1, tq: 3, tk: 37, d: 4, dv: 3), causal: true,
                dropout: AttentionDropout(p: 0.5, seed: 3))
        runCase("dropout q only", Dims(b: 1, hq: 2, hkv: 1, tq: 3, tk: 3, d: 4, dv: 4), causal: true,
                differentiable: [true, false, false], dropout: drop)
    }

    /// The mask belongs to the (batch, head, query) row, so the blocks and threads that compute the
    /// row change nothing.
    func testMaskDoesNotDependOnBlocking() {
        let drop = AttentionDropout(p: 0.4, seed: 5)
        let savedElements = AttentionKernel.blockElements, savedRows = AttentionKernel.causalBlockRows
        defer { AttentionKernel.blockElements = savedElements; AttentionKernel.causalBlockRows = savedRows }
        AttentionKernel.causalBlockRows = 2
        runCase("dropout causal blocks", Dims(b: 1, hq: 2, hkv: 1, tq: 13, tk: 13, d: 4, dv: 4), causal: true,
                dropout: drop)
        AttentionKernel.blockElements = 7
        runCase("dropout score blocks", Dims(b: 2, hq: 4, hkv: 2, tq: 3, tk: 5, d: 4, dv: 4), causal: true,
                dropout: drop)
    }

    /// p = 0 (or none) runs the plain kernel: output and all three gradients equal bit for bit.
    func testZeroProbabilityIsThePlainKernelBitForBit() {
        func run(_ dropout: AttentionDropout?) -> [[Float]] {
            let q = OpCheck.random([2, 4, 6, 8], seed: 300), k = OpCheck.random([2, 2, 6, 8], seed: 301)
            let v = OpCheck.random([2, 2, 6, 8], seed: 302), cot = OpCheck.random([2, 4, 6, 8], seed: 303)
            for t in [q, k, v] { t.requiresGrad = true }
            let mask = Tensor(shape: [2, 6], data: [1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1])
            let out = scaledDotProductAttention(q: q, k: k, v: v, causal: true, keyPaddingMask: mask, dropout: dropout)
            (out * cot).sum().backward()
            return [out.toArray()] + [q, k, v].map { $0.grad!.toArray() }
        }
        let plain = run(nil)
        XCTAssertEqual(run(AttentionDropout(p: 0, seed: 99)), plain)
        XCTAssertNotEqual(run(AttentionDropout(p: 0.2, seed: 99)), plain, "p > 0 changes the pass")
    }

    /// One seed, one mask; another seed, another; the drop rate is ≈ p and survivors are 1/(1 − p).
    func testMaskFollowsTheSeed() {
        let q = OpCheck.random([1, 2, 8, 4], seed: 310), k = OpCheck.random([1, 2, 8, 4], seed: 311)
        let v = OpCheck.random([1, 2, 8, 4], seed: 312)
        func out(_ seed: UInt64) -> [Float] {
            scaledDotProductAttention(q: q, k: k, v: v, causal: true, dropout: AttentionDropout(p: 0.3, seed: seed)).toArray()
        }
        XCTAssertEqual(out(1), out(1))
        XCTAssertNotEqual(out(1), out(2))
        let drop = AttentionDropout(p: 0.3, seed: 8)
        let mask = (0..<200).flatMap { drop.mask(row: $0, visible: 100) }
        XCTAssertEqual(Double(mask.filter { $0 == 0 }.count) / Double(mask.count), 0.3, accuracy: 0.01)
        XCTAssertTrue(mask.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        XCTAssertNotEqual(drop.mask(row: 0, visible: 100), drop.mask(row: 1, visible: 100), "rows draw their own masks")
    }
}
