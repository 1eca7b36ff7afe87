import XCTest
@testable import MiniMindTensor

final class OpsBAttentionTests: XCTestCase {
    let check = OpCheck()

    struct Dims {
        var b = 1, hq = 2, hkv = 2, tq = 4, tk = 4, d = 4, dv = 4
        var qShape: [Int] { [b, hq, tq, d] }
        var kShape: [Int] { [b, hkv, tk, d] }
        var vShape: [Int] { [b, hkv, tk, dv] }
        var outCount: Int { b * hq * tq * dv }
    }

    /// Naive Double attention: explicit visibility test per (query, key), softmax over visible keys,
    /// zero output for rows that see nothing. `dropout`: each probability times its mask entry
    /// (`AttentionDropout.mask`, indexed by the key over the row's causally visible keys).
    static func reference(_ q: [Double], _ k: [Double], _ v: [Double], _ n: Dims, causal: Bool, keep: [Bool]?,
                          scale: Double, dropout: AttentionDropout? = nil) -> [Double] {
        var out = [Double](repeating: 0, count: n.outCount)
        let group = n.hq / n.hkv
        for b in 0..<n.b {
            for h in 0..<n.hq {
                let g = h / group
                for i in 0..<n.tq {
                    let visible = causal ? max(0, min(n.tk, n.tk - n.tq + i + 1)) : n.tk
                    let mask = dropout?.mask(row: (b * n.hq + h) * n.tq + i, visible: visible)
                    var scores: [Double] = [], keys: [Int] = []
                    for j in 0..<n.tk {
                        if causal && j > n.tk - n.tq + i { continue }
                        if let keep, !keep[b * n.tk + j] { continue }
                        var s = 0.0
                        for e in 0..<n.d { s += q[((b * n.hq + h) * n.tq + i) * n.d + e] * k[((b * n.hkv + g) * n.tk + j) * n.d + e] }
                        scores.append(s * scale)
                        keys.append(j)
                    }
                    let m = scores.max() ?? 0
                    let w = scores.map { exp($0 - m) }
                    let z = w.reduce(0, +)
                    for (wj, j) in zip(w, keys) {
                        let kept = mask.map { Double($0[j]) } ?? 1
                        for e in 0..<n.dv {
                            out[((b * n.hq + h) * n.tq + i) * n.dv + e] += wj / z * kept * v[((b * n.hkv + g) * n.tk + j) * n.dv + e]
                        }
                    }
                }
            }
        }
        return out
    }

    func runCase(_ name: String, _ n: Dims, causal: Bool, keep: [Bool]? = nil, qScale: Float = 1, scale: Float? = nil,
                 differentiable: [Bool]? = nil, checker: OpCheck? = nil, seed: UInt64 = 200) {
        let q = OpCheck.random(n.qShape, seed: seed, scale: qScale)
        let k = OpCheck.random(n.kShape, seed: seed + 1), v = OpCheck.random(n.vShape, seed: seed + 2)
        let mask = keep.map { Tensor(shape: [n.b, n.tk], data: $0.map { $0 ? 1 : 0 }) }
        let s = scale ?? 1 / Float(n.d).squareRoot()
        (checker ?? check).run(name, inputs: [q, k, v], differentiable: differentiable, op: { x in
            scaledDotProductAttention(q: x[0], k: x[1], v: x[2], causal: causal, keyPaddingMask: mask, scale: scale)
        }) { x in
            Self.reference(x[0], x[1], x[2], n, causal: causal, keep: keep, scale: Double(s))
        }
    }

    func testBidirectional() {
        runCase("bidirectional", Dims(b: 2, hq: 2, hkv: 2, tq: 3, tk: 5, d: 4, dv: 3), causal: false)
    }

    /// More than 16 keys: full SIMD vectors plus a ragged tail, with padding inside the vectors.
    func testLongRowsWithPadding() {
        let keep = (0..<37).map { $0 % 7 != 3 }
        runCase("37 keys padded causal", Dims(b: 1, hq: 2, hkv: 1, tq: 3, tk: 37, d: 4, dv: 3), causal: true, keep: keep)
        runCase("37 keys bidirectional", Dims(b: 1, hq: 2, hkv: 1, tq: 2, tk: 37, d: 4, dv: 3), causal: false)
    }

    func testCausalGroupedQuery() {
        runCase("causal GQA", Dims(b: 2, hq: 4, hkv: 2, tq: 5, tk: 5, d: 4, dv: 4), causal: true)
        runCase("causal MQA explicit scale", Dims(b: 1, hq: 3, hkv: 1, tq: 4, tk: 4, d: 6, dv: 2), causal: true, scale: 0.3)
    }

    func testPaddingMaskWithCausalAndGQA() {
        let keep = [true, true, true, true, true, true,
                    false, false, true, true, true, true]  // batch 1 is left-padded by two
        runCase("padding causal GQA", Dims(b: 2, hq: 4, hkv: 2, tq: 6, tk: 6, d: 4, dv: 4), causal: true, keep: keep)
        runCase("padding bidirectional", Dims(b: 2, hq: 2, hkv: 1, tq: 3, tk: 6, d: 4, dv: 4), causal: false, keep: keep)
    }

    /// Tq < Tk: the queries are the last Tq positions (KV-cache decode), causal aligned to the end.
    func testDecodeQueriesAlignToTheEnd() {
        runCase("decode 2 of 6", Dims(b: 2, hq: 4, hkv: 2, tq: 2, tk: 6, d: 4, dv: 4), causal: true)
        runCase("decode 1 of 5", Dims(b: 1, hq: 2, hkv: 1, tq: 1, tk: 5, d: 8, dv: 8), causal: true)
        // Decoding one token at a time reproduces the last rows of the full causal pass.
        let q = OpCheck.random([1, 4, 6, 8], seed: 210), k = OpCheck.random([1, 2, 6, 8], seed: 211)
        let v = OpCheck.random([1, 2, 6, 8], seed: 212)
        let full = scaledDotProductAttention(q: q, k: k, v: v, causal: true)
        let last = scaledDotProductAttention(q: q.slice(axis: 2, 5..<6), k: k, v: v, causal: true)
        let expected = full.slice(axis: 2, 5..<6).toArray()
        for (a, b) in zip(last.toArray(), expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    /// Rows that see no key output zeros, with zero gradient, never NaN.
    func testFullyMaskedRowsAreZero() {
        let keep = [true, true, true, false, false, false]  // batch 1 sees nothing
        runCase("all keys padded", Dims(b: 2, hq: 2, hkv: 1, tq: 2, tk: 3, d: 4, dv: 4), causal: false, keep: keep)
        // Tq > Tk with causal: the first queries sit before every key.
        runCase("queries before all keys", Dims(b: 1, hq: 2, hkv: 2, tq: 4, tk: 2, d: 4, dv: 4), causal: true)
        let q = OpCheck.random([1, 1, 2, 4], seed: 220), k = OpCheck.random([1, 1, 3, 4], seed: 221)
        let out = scaledDotProductAttention(q: q, k: k, v: k, causal: false, keyPaddingMask: Tensor.zeros([1, 3]))
        XCTAssertEqual(out.toArray(), Array(repeating: 0, count: 8))
    }

    /// Scores near ±150 overflow a naive exp in Float; the max-subtracted softmax stays exact.
    func testExtremeScores() {
        var loose = OpCheck()
        loose.forwardTolerance = 1e-4
        loose.gradientAbsTolerance = 1e-2
        loose.gradientRelTolerance = 1e-2
        let n = Dims(b: 1, hq: 2, hkv: 1, tq: 3, tk: 4, d: 4, dv: 4)
        runCase("extreme scores", n, causal: true, qScale: 60, differentiable: [false, false, true], checker: loose)
        let q = OpCheck.random(n.qShape, seed: 230, scale: 500), k = OpCheck.random(n.kShape, seed: 231)
        let out = scaledDotProductAttention(q: q, k: k, v: k, causal: false)
        XCTAssertTrue(out.toArray().allSatisfy { $0.isFinite })
    }

    /// Small score blocks force the row blocking path (used for long sequences) in both passes.
    func testBlockedComputationMatches() {
        let saved = AttentionKernel.blockElements
        AttentionKernel.blockElements = 7
        defer { AttentionKernel.blockElements = saved }
        runCase("blocked causal GQA", Dims(b: 2, hq: 4, hkv: 2, tq: 3, tk: 5, d: 4, dv: 4), causal: true)
    }

    /// Causal blocks of 2 queries multiply only against the keys their last query sees: the same
    /// values and gradients, with padding, with queries before every key, and with decoding offsets.
    func testCausalBlocksSkipHiddenKeys() {
        let saved = AttentionKernel.causalBlockRows
        AttentionKernel.causalBlockRows = 2
        defer { AttentionKernel.causalBlockRows = saved }
        let geo = AttentionGeometry(batch: 1, queryHeads: 2, kvHeads: 1, queries: 5, keys: 5, headDim: 4, valueDim: 4,
                                    causal: true, scale: 1)
        XCTAssertEqual(AttentionKernel.rowBlocks(geo).map { [$0.start, $0.rows, $0.width] },
                       [[0, 2, 2], [2, 2, 4], [4, 1, 5], [5, 2, 2], [7, 2, 4], [9, 1, 5]])
        runCase("causal blocks GQA", Dims(b: 2, hq: 4, hkv: 2, tq: 5, tk: 5, d: 4, dv: 3), causal: true)
        let keep = [true, true, true, false, false, true, true, true, true, true, true, true, false]
        runCase("causal blocks padded", Dims(b: 1, hq: 2, hkv: 1, tq: 13, tk: 13, d: 4, dv: 4), causal: true,
                keep: keep)
        runCase("causal blocks, queries before keys", Dims(b: 1, hq: 2, hkv: 2, tq: 5, tk: 2, d: 4, dv: 4), causal: true)
        runCase("causal blocks, 3 new of 7", Dims(b: 1, hq: 2, hkv: 1, tq: 3, tk: 7, d: 4, dv: 4), causal: true)
    }

    /// A frozen k/v costs no gradient for them; q still gets its gradient.
    func testOnlyRequestedGradients() {
        runCase("q only", Dims(b: 1, hq: 2, hkv: 1, tq: 3, tk: 3, d: 4, dv: 4), causal: true,
                differentiable: [true, false, false])
        let q = OpCheck.random([1, 2, 3, 4], seed: 240), k = OpCheck.random([1, 1, 3, 4], seed: 241)
        k.requiresGrad = true
        let out = scaledDotProductAttention(q: q, k: k, v: k, causal: true)
        out.sum().backward()
        XCTAssertNil(q.grad)
        XCTAssertNotNil(k.grad)
    }
}
