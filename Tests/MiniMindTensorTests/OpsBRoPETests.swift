import XCTest
@testable import MiniMindTensor

final class OpsBRoPETests: XCTestCase {
    let check = OpCheck()

    /// Docs/Model.md, "Language model" in Double: theta^(-2i/D), then the YaRN ramp when maxPositions > original.
    static func referenceInvFreq(headDim: Int, theta: Double, maxPositions: Int, yarn: YaRNConfig?) -> [Double] {
        let half = headDim / 2
        var f = (0..<half).map { pow(theta, -Double(2 * $0) / Double(headDim)) }
        if let yarn, maxPositions > yarn.originalMaxPositions {
            func invDim(_ b: Double) -> Double {
                Double(headDim) * log(Double(yarn.originalMaxPositions) / (b * 2 * Double.pi)) / (2 * log(theta))
            }
            let low = max(floor(invDim(yarn.betaFast)), 0)
            let high = min(ceil(invDim(yarn.betaSlow)), Double(half - 1))
            for i in 0..<half {
                let ramp = min(max((Double(i) - low) / max(high - low, 0.001), 0), 1)
                f[i] *= 1 - ramp + ramp / yarn.factor
            }
        }
        return f
    }

    func testInverseFrequenciesAndYaRNMatchSpecFormula() {
        for headDim in [64, 96, 8] {
            for yarn in [nil, YaRNConfig()] {
                let table = RoPETable(headDim: headDim, maxPositions: 4096, theta: 1e6, yarn: yarn)
                XCTAssertEqual(table.yarnApplied, yarn != nil)
                let ref = Self.referenceInvFreq(headDim: headDim, theta: 1e6, maxPositions: 4096, yarn: yarn)
                for (got, want) in zip(table.invFreq, ref) {
                    XCTAssertEqual(Double(got), want, accuracy: 4e-7 * want, "inv_freq D=\(headDim) yarn=\(yarn != nil)")
                }
            }
        }
        // The YaRN ramp changes frequencies: the lowest ones are divided by the factor.
        let plain = RoPETable(headDim: 64, maxPositions: 4096, theta: 1e6)
        let scaled = RoPETable(headDim: 64, maxPositions: 4096, theta: 1e6, yarn: YaRNConfig())
        XCTAssertEqual(scaled.invFreq[0], plain.invFreq[0])
        XCTAssertEqual(Double(scaled.invFreq[31]), Double(plain.invFreq[31]) / 16, accuracy: 1e-7 * Double(plain.invFreq[31]))
        // MiniMind applies YaRN only when the table is longer than the original context.
        XCTAssertFalse(RoPETable(headDim: 64, maxPositions: 2048, theta: 1e6, yarn: YaRNConfig()).yarnApplied)
    }

    func testTablesAreCosSinOfPositionTimesFrequency() {
        let table = RoPETable(headDim: 96, maxPositions: 3000, theta: 1e6, yarn: YaRNConfig(originalMaxPositions: 1024))
        for p in [0, 1, 2, 17, 1023, 2999] {
            for i in 0..<48 {
                let angle = Double(p) * Double(table.invFreq[i])
                // The float32 product pos·inv_freq carries up to half an ulp of the angle.
                let tol = 2e-7 + angle * 1.2e-7
                XCTAssertEqual(Double(table.cos[p, i]), cos(angle), accuracy: tol)
                XCTAssertEqual(Double(table.sin[p, i]), sin(angle), accuracy: tol)
            }
        }
    }

    /// Double reference of the rotation on [B, T, H, D] with positions offset + t.
    static func rotate(_ x: [Double], shape: [Int], table: RoPETable, offset: Int, style: RoPEStyle) -> [Double] {
        let t = shape[shape.count - 3], h = shape[shape.count - 2], d = shape[shape.count - 1], half = d / 2
        var out = x
        for r in 0..<(x.count / d) {
            let pos = offset + (r / h) % t
            for i in 0..<half {
                let c = Double(table.cos[pos, i]), s = Double(table.sin[pos, i])
                let (ia, ib) = style == .halfSplit ? (i, i + half) : (2 * i, 2 * i + 1)
                let a = x[r * d + ia], b = x[r * d + ib]
                out[r * d + ia] = a * c - b * s
                out[r * d + ib] = b * c + a * s
            }
        }
        return out
    }

    func testRotationForwardAndBackward() {
        let table = RoPETable(headDim: 8, maxPositions: 16, theta: 10_000)
        let x = OpCheck.random([2, 3, 2, 8], seed: 101)
        for style in [RoPEStyle.halfSplit, .interleaved] {
            for offset in [0, 5] {
                check.run("rope \(style) offset \(offset)", inputs: [x],
                          op: { applyRoPE($0[0], table: table, offset: offset, style: style) }) { v in
                    Self.rotate(v[0], shape: [2, 3, 2, 8], table: table, offset: offset, style: style)
                }
            }
        }
    }

    /// Permuting head-dim features pairs→halves (the q/k row permutation used to convert legacy
    /// checkpoints) turns the interleaved rotation into the half-split one.
    func testInterleavedEqualsHalfSplitUnderPairPermutation() {
        let d = 16, half = 8
        let table = RoPETable(headDim: d, maxPositions: 32, theta: 1e6)
        let x = OpCheck.random([2, 5, 3, d], seed: 102)
        // perm[j] = source feature of output feature j: halves take the even, then the odd members of pairs.
        let perm = (0..<d).map { $0 < half ? 2 * $0 : 2 * ($0 - half) + 1 }
        func permute(_ t: Tensor) -> [Float] {
            let a = t.toArray()
            return (0..<a.count).map { idx in a[(idx / d) * d + perm[idx % d]] }
        }
        let interleaved = applyRoPE(x, table: table, offset: 7, style: .interleaved)
        let halfSplit = applyRoPE(Tensor(shape: x.shape, data: permute(x)), table: table, offset: 7, style: .halfSplit)
        XCTAssertEqual(permute(interleaved), halfSplit.toArray())
    }

    /// Rotating a suffix with offset = prefix length equals rotating the whole sequence (KV-cache decode).
    func testOffsetContinuesTheSequence() {
        let table = RoPETable(headDim: 8, maxPositions: 64, theta: 1e6, yarn: YaRNConfig(originalMaxPositions: 16))
        let x = OpCheck.random([1, 6, 2, 8], seed: 103)
        let full = applyRoPE(x, table: table).slice(axis: 1, 4..<6)
        let tail = applyRoPE(x.slice(axis: 1, 4..<6), table: table, offset: 4)
        XCTAssertEqual(full.toArray(), tail.toArray())
    }
}
