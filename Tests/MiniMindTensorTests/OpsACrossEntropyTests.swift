import XCTest
@testable import MiniMindTensor

/// Fused cross-entropy against a naive Double reference (log-sum-exp − target logit, ignore index,
/// mean over counted tokens), its gradients against central differences and the analytic formula.
final class OpsACrossEntropyTests: XCTestCase {
    let check = OpCheck()

    /// Per-row losses in Double; ignored rows are nil.
    static func rowLosses(_ x: [Double], vocab v: Int, targets: [Int], ignoreIndex: Int = -100) -> [Double?] {
        targets.enumerated().map { r, t -> Double? in
            guard t != ignoreIndex else { return nil }
            let row = x[(r * v)..<(r * v + v)]
            let m = row.max() ?? 0
            return m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) - x[r * v + t]
        }
    }

    static func meanLoss(_ x: [Double], vocab v: Int, targets: [Int]) -> Double {
        let counted = rowLosses(x, vocab: v, targets: targets).compactMap { $0 }
        return counted.isEmpty ? 0 : counted.reduce(0, +) / Double(counted.count)
    }

    func testMeanSumAndPerTokenWithIgnoreIndex() {
        for v in [7, 16, 37] {
            let x = OpCheck.random([5, v], seed: UInt64(v), scale: 2)
            let targets = [3, -100, 0, v - 1, -100]
            check.run("CE mean V=\(v)", inputs: [x], op: { crossEntropy(logits: $0[0], targets: targets) }) { p in
                [Self.meanLoss(p[0], vocab: v, targets: targets)]
            }
            check.run("CE sum V=\(v)", inputs: [x], op: { crossEntropy(logits: $0[0], targets: targets, reduction: .sum) }) { p in
                [Self.rowLosses(p[0], vocab: v, targets: targets).compactMap { $0 }.reduce(0, +)]
            }
            check.run("CE none V=\(v)", inputs: [x], op: { crossEntropy(logits: $0[0], targets: targets, reduction: .none) }) { p in
                Self.rowLosses(p[0], vocab: v, targets: targets).map { $0 ?? 0 }
            }
        }
    }

    func testCustomIgnoreIndexAndBatchedLogits() {
        let x = OpCheck.random([2, 3, 11], seed: 4)
        let targets = [1, 0, 10, 0, 5, 2]
        check.run("CE ignore 0, [2,3,11]", inputs: [x], op: { crossEntropy(logits: $0[0], targets: targets, ignoreIndex: 0) }) { p in
            let counted = Self.rowLosses(p[0], vocab: 11, targets: targets, ignoreIndex: 0).compactMap { $0 }
            return [counted.reduce(0, +) / Double(counted.count)]
        }
        XCTAssertEqual(crossEntropy(logits: x, targets: targets, reduction: .none).shape, [2, 3])
    }

    func testAllIgnoredGivesZeroLossAndZeroGradient() {
        let x = OpCheck.random([4, 9], seed: 8)
        x.requiresGrad = true
        let loss = crossEntropy(logits: x, targets: [-100, -100, -100, -100])
        XCTAssertEqual(loss.item, 0)
        loss.backward()
        XCTAssertEqual(x.grad?.toArray(), Array(repeating: 0, count: 36))
        let empty = Tensor.zeros([0, 9], requiresGrad: true)
        XCTAssertEqual(crossEntropy(logits: empty, targets: []).item, 0)
    }

    func testExtremeLogitsAndMaskedVocabulary() {
        // Logits of ±1e4 and −inf entries: the loss is finite and matches Double; no NaN in the gradient.
        let v = 40
        var x = OpCheck.random([6, v], seed: 12, scale: 1e4).toArray()
        for r in 0..<6 { x[r * v + 3] = -.infinity; x[r * v + 17] = -.infinity }
        let targets = [0, 5, 39, 10, -100, 21]
        let t = Tensor(shape: [6, v], data: x, requiresGrad: true)
        let loss = crossEntropy(logits: t, targets: targets)
        let ref = Self.meanLoss(x.map(Double.init), vocab: v, targets: targets)
        XCTAssertEqual(Double(loss.item), ref, accuracy: 1e-6 * max(1, abs(ref)))
        loss.backward()
        let g = t.grad?.toArray() ?? []
        XCTAssertFalse(g.contains { !$0.isFinite })
        assertGradientMatchesAnalytic(g, logits: x.map(Double.init), vocab: v, targets: targets, scale: 1.0 / 5)
        XCTAssertEqual(crossEntropy(logits: Tensor(shape: [1, 3], data: [1e30, 0, -1e30]), targets: [0]).item, 0)
    }

    func testRealVocabularyWidthInParallelAndScaledSeed() {
        // 64 × 6400 runs row-parallel; the loss is reused with weight 2.5 so backward scales the fused gradient.
        let (n, v) = (64, 6400)
        let x = OpCheck.random([n, v], seed: 99, scale: 3)
        x.requiresGrad = true
        var targets = (0..<n).map { ($0 * 997) % v }
        targets[5] = -100; targets[40] = -100
        let loss = crossEntropy(logits: x, targets: targets)
        let xd = x.toArray().map(Double.init)
        XCTAssertEqual(Double(loss.item), Self.meanLoss(xd, vocab: v, targets: targets), accuracy: 1e-5)
        (loss * 2.5).backward()
        assertGradientMatchesAnalytic(x.grad?.toArray() ?? [], logits: xd, vocab: v, targets: targets, scale: 2.5 / 62)
        let perToken = crossEntropy(logits: x.detached(), targets: targets, reduction: .none).toArray()
        for (a, b) in zip(perToken, Self.rowLosses(xd, vocab: v, targets: targets)) {
            XCTAssertEqual(Double(a), b ?? 0, accuracy: 1e-5 * max(1, abs(b ?? 0)))
        }
        // Under noGrad the forward skips the gradient buffer and gives the same loss.
        XCTAssertEqual(noGrad { crossEntropy(logits: x, targets: targets) }.item, loss.item)
    }

    /// dL/dx = scale·(softmax(x) − onehot(target)) per counted row, 0 for ignored rows.
    func assertGradientMatchesAnalytic(_ g: [Float], logits x: [Double], vocab v: Int, targets: [Int], scale: Double,
                                       file: StaticString = #filePath, line: UInt = #line) {
        let p = OpsASoftmaxTests.softmaxRows(x, width: v)
        var worst = 0.0
        for (r, t) in targets.enumerated() {
            for j in 0..<v {
                let expected = t == -100 ? 0 : scale * (p[r * v + j] - (j == t ? 1 : 0))
                worst = max(worst, abs(Double(g[r * v + j]) - expected))
            }
        }
        XCTAssertLessThan(worst, 1e-7, "cross-entropy gradient vs analytic Double", file: file, line: line)
    }
}
