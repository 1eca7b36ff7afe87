import XCTest
@testable import MiniMindTensor

/// Optimizer state export/restore: resuming from saved state continues exactly like an unbroken run.
final class OptimStateTests: XCTestCase {
    func testSaveRestoreContinuesIdentically() throws {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario("defaults")
        func makeOptimizer(_ params: [(String, Tensor)]) -> AdamW {
            AdamW(parameters: params, lr: sc.lr, betas: (sc.betas[0], sc.betas[1]), eps: sc.eps, weightDecay: sc.weight_decay)
        }
        let straight = fx.makeParameters()
        let optA = makeOptimizer(straight)
        for step in 1...5 { fx.setGrads(straight, step: step); optA.step() }

        let resumed = fx.makeParameters()
        let optB = makeOptimizer(resumed)
        for step in 1...2 { fx.setGrads(resumed, step: step); optB.step() }
        let saved = Dictionary(uniqueKeysWithValues: optB.stateTensors())
        let optC = makeOptimizer(resumed)
        try optC.loadState(saved)
        for step in 3...5 { fx.setGrads(resumed, step: step); optC.step() }

        for ((name, a), (_, b)) in zip(straight, resumed) {
            XCTAssertEqual(a.toArray(), b.toArray(), "\(name) differs after resume")
        }
        let stateA = Dictionary(uniqueKeysWithValues: optA.stateTensors().map { ($0.0, $0.1.toArray()) })
        let stateC = Dictionary(uniqueKeysWithValues: optC.stateTensors().map { ($0.0, $0.1.toArray()) })
        XCTAssertEqual(stateA, stateC)
        XCTAssertEqual(stateA["sometimes.step"], [3])
    }

    func testExportedStateIsACopy() {
        let p = Tensor.ones([4], requiresGrad: true)
        p.grad = Tensor.ones([4])
        let opt = AdamW(parameters: [("w", p)], lr: 0.1)
        opt.step()
        let saved = Dictionary(uniqueKeysWithValues: opt.stateTensors())
        let before = saved["w.exp_avg"]?.toArray()
        opt.step()
        XCTAssertEqual(saved["w.exp_avg"]?.toArray(), before)
    }

    func testLoadStateReportsEveryProblemAndChangesNothing() throws {
        let a = Tensor.ones([2, 3], requiresGrad: true), b = Tensor.ones([4], requiresGrad: true)
        let opt = AdamW(parameters: [("a", a), ("b", b)], lr: 0.1)
        let bad: [String: Tensor] = [
            "a.exp_avg": .zeros([3, 2]),          // wrong shape
            "a.exp_avg_sq": .zeros([2, 3]),
            "a.step": Tensor(scalar: 2.5),        // not a whole number
            "b.exp_avg": .zeros([4]),             // b.exp_avg_sq and b.step missing
            "c.exp_avg": .zeros([1]),             // no parameter c
        ]
        XCTAssertThrowsError(try opt.loadState(bad)) { error in
            guard case OptimizerStateError.invalid(let problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.count, 4, "\(problems)")
            let text = "\(error)"
            for needle in ["a.exp_avg: expected shape [2, 3], found [3, 2]", "a.step", "2.5",
                           "b.exp_avg_sq", "b.step", "c.exp_avg"] {
                XCTAssertTrue(text.contains(needle), "message lacks '\(needle)':\n\(text)")
            }
        }
        XCTAssertTrue(opt.stateTensors().isEmpty, "a failed load must not change state")
    }
}
