import XCTest
@testable import MiniMindTensor

/// Schedules against the upstream formula and transformers' LambdaLR values (fixture), and
/// clipping against torch.nn.utils.clip_grad_norm_.
final class OptimScheduleAndClipTests: XCTestCase {
    func testMiniMindCosineMatchesUpstream() throws {
        let s = try XCTUnwrap(try OptimFixture.load().schedules["minimind_cosine"])
        let schedule = MiniMindCosineLR(baseLR: s.base, totalSteps: s.total)
        XCTAssertEqual(s.lrs.count, s.total + 1)
        for (t, want) in s.lrs.enumerated() {
            XCTAssertEqual(schedule.lr(at: t), want, accuracy: 1e-15 * want, "t = \(t)")
        }
    }

    func testWarmupCosineMatchesTransformers() throws {
        let fx = try OptimFixture.load()
        for key in ["warmup_cosine", "warmup_cosine_min"] {
            let s = try XCTUnwrap(fx.schedules[key])
            let schedule = WarmupCosineLR(baseLR: s.base, warmupSteps: try XCTUnwrap(s.warmup), totalSteps: s.total,
                                          minLRRatio: try XCTUnwrap(s.min_lr_rate))
            for (t, want) in s.lrs.enumerated() {
                XCTAssertEqual(schedule.lr(at: t), want, accuracy: 1e-15 * max(want, 1e-4), "\(key) t = \(t)")
            }
        }
    }

    func testConstant() {
        XCTAssertEqual(ConstantLR(baseLR: 3e-4).lr(at: 12345), 3e-4)
    }

    func testClipMatchesTorchOnEveryStep() throws {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario("clipped")
        let maxNorm = try XCTUnwrap(sc.max_norm)
        for step in 1...fx.steps {
            let params = fx.makeParameters().filter { $0.1.requiresGrad }
            fx.setGrads(params, step: step)
            let raw = params.map { $0.1.grad?.toArray() }
            let norm = clipGradNorm(params, maxNorm: maxNorm)
            let want = sc.clip_norms[step - 1]
            XCTAssertEqual(Double(norm), Double(want), accuracy: 1e-6 * Double(want), "step \(step) norm")
            // Scaled by maxNorm/(norm + 1e-6) only when that is below 1 (torch clamps to 1).
            let scale = min(1, maxNorm / (want + 1e-6))
            for ((name, p), g0) in zip(params, raw) {
                guard let g0 else { XCTAssertNil(p.grad); continue }
                let got = try XCTUnwrap(p.grad).toArray()
                XCTAssertLessThanOrEqual(maxRelativeError(got, g0.map { $0 * scale }), 1e-6, "step \(step) \(name)")
                if scale == 1 { XCTAssertEqual(got, g0, "unclipped step \(step) must leave \(name) unchanged") }
            }
        }
    }

    func testClipCountsTiedParameterOnce() {
        let w = Tensor.ones([4], requiresGrad: true)
        w.grad = Tensor(shape: [4], data: [3, 0, 4, 0])
        let norm = clipGradNorm([w, w], maxNorm: 1)
        XCTAssertEqual(norm, 5)
        XCTAssertEqual(w.grad?.toArray()[0] ?? 0, 0.6, accuracy: 1e-6)
    }
}
