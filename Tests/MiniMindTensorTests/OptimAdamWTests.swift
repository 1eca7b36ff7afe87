import XCTest
@testable import MiniMindTensor

/// AdamW against torch.optim.AdamW (fixture from Scripts/gen_optim_fixtures.py), to 1e-6 relative.
final class OptimAdamWTests: XCTestCase {
    static let tolerance = 1e-6

    /// Runs `scenario` for the fixture's 5 steps, checking parameters after steps 1 and 5.
    private func replay(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> (AdamW, [(String, Tensor)]) {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario(name)
        let params = fx.makeParameters()
        let opt = AdamW(parameters: params, lr: sc.lr, betas: (sc.betas[0], sc.betas[1]), eps: sc.eps,
                        weightDecay: sc.weight_decay)
        for step in 1...fx.steps {
            opt.zeroGrad()
            fx.setGrads(params, step: step)
            if let maxNorm = sc.max_norm {
                let norm = clipGradNorm(params.filter { $0.1.requiresGrad }, maxNorm: maxNorm)
                XCTAssertEqual(Double(norm), Double(sc.clip_norms[step - 1]), accuracy: 1e-6 * Double(sc.clip_norms[step - 1]),
                               "\(name) step \(step): clip norm", file: file, line: line)
            }
            if sc.schedule_total != nil { opt.lr = sc.lrs[step - 1] }
            opt.step()
            guard let expected = sc.after["\(step)"] else { continue }
            for (pname, p) in params {
                let want = try XCTUnwrap(expected[pname])
                let err = maxRelativeError(p.toArray(), want)
                XCTAssertLessThanOrEqual(err, Self.tolerance, "\(name) step \(step): \(pname)", file: file, line: line)
            }
        }
        return (opt, params)
    }

    func testDefaultsOneAndFiveSteps() throws {
        let (opt, _) = try replay("defaults")
        let sc = try OptimFixture.load().scenario("defaults")
        // Moments and per-parameter step counts match torch's optimizer.state after 5 steps.
        let state = Dictionary(uniqueKeysWithValues: opt.stateTensors())
        XCTAssertNil(state["frozen.step"], "a parameter without gradients has no state")
        for (pname, want) in sc.state_after_5 {
            let step = try XCTUnwrap(state["\(pname).step"])
            XCTAssertEqual(Double(step.item), want.step, pname)
            XCTAssertLessThanOrEqual(maxRelativeError(try XCTUnwrap(state["\(pname).exp_avg"]).toArray(), want.exp_avg),
                                     Self.tolerance, "\(pname).exp_avg")
            XCTAssertLessThanOrEqual(maxRelativeError(try XCTUnwrap(state["\(pname).exp_avg_sq"]).toArray(), want.exp_avg_sq),
                                     Self.tolerance, "\(pname).exp_avg_sq")
        }
        XCTAssertEqual(state.count, sc.state_after_5.count * 3)
    }

    func testCustomHyperparameters() throws { _ = try replay("custom_hparams") }

    func testLargeLearningRateAndDecay() throws { _ = try replay("large_lr_wd") }

    func testClippedBeforeEveryStep() throws { _ = try replay("clipped") }

    func testUpstreamCosineLearningRatePerStep() throws {
        let sc = try OptimFixture.load().scenario("upstream_cosine")
        let schedule = MiniMindCosineLR(baseLR: sc.lr, totalSteps: try XCTUnwrap(sc.schedule_total))
        // Upstream counts steps from 1: optimizer step s uses t = s.
        XCTAssertEqual(sc.lrs.count, 5)
        for (i, want) in sc.lrs.enumerated() {
            XCTAssertEqual(schedule.lr(at: i + 1), want, accuracy: 1e-15 * want, "lr at step \(i + 1)")
        }
        _ = try replay("upstream_cosine")
    }

    func testFrozenParameterIsUntouched() throws {
        let (_, params) = try replay("defaults")
        let fx = try OptimFixture.load()
        let frozen = try XCTUnwrap(params.first { $0.0 == "frozen" }?.1)
        XCTAssertEqual(frozen.toArray(), try XCTUnwrap(fx.parameters.first { $0.name == "frozen" }).initial)
    }

    func testLargeTensorMatchesScalarLoop() {
        // The SIMD/threaded path must agree with a plain element loop of the same formula.
        var rng = SeededGenerator(seed: 3)
        let n = 200_003
        let p = Tensor.randn([n], generator: &rng, requiresGrad: true)
        let g = Tensor.randn([n], generator: &rng)
        let reference = p.toArray()
        p.grad = g
        let opt = AdamW(parameters: [p], lr: 1e-3, weightDecay: 0.1)
        opt.step(); opt.step()
        var m = [Float](repeating: 0, count: n), v = m, q = reference
        let gs = g.toArray()
        for step in 1...2 {
            let f = opt.factors(step: step)
            for i in 0..<n {
                q[i] *= f.decay
                m[i] = m[i] + f.oneMinusBeta1 * (gs[i] - m[i])
                v[i] = v[i] * f.beta2 + (f.oneMinusBeta2 * gs[i]) * gs[i]
                q[i] = q[i] + (f.negStepSize * m[i]) / (v[i].squareRoot() / f.biasCorrection2Sqrt + f.eps)
            }
        }
        XCTAssertEqual(p.toArray(), q)
    }

    func testVectorSquareRootIsIEEE() {
        // The SSE square root must equal Float.squareRoot() bit for bit, specials included.
        var values: [Float] = [0, -0, 1, 2, .infinity, -1, .nan, .leastNonzeroMagnitude, .leastNormalMagnitude,
                               .greatestFiniteMagnitude, 1e-30, 3e38]
        var rng = SeededGenerator(seed: 17)
        while values.count < 1 << 16 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7fff_ffff)) }
        for start in stride(from: 0, to: values.count, by: 16) {
            let x = SIMD16<Float>(values[start..<start + 16])
            let r = AdamWKernel.squareRoot(x)
            for j in 0..<16 {
                let want = x[j].squareRoot()
                XCTAssertTrue(r[j].bitPattern == want.bitPattern || (r[j].isNaN && want.isNaN), "sqrt(\(x[j]))")
            }
        }
    }

    func testZeroGradClearsGradients() {
        let a = Tensor.ones([3], requiresGrad: true)
        a.grad = Tensor.ones([3])
        let opt = AdamW(parameters: [a], lr: 0.1)
        opt.zeroGrad()
        XCTAssertNil(a.grad)
        opt.step()  // no gradient: nothing happens
        XCTAssertEqual(a.toArray(), [1, 1, 1])
        XCTAssertTrue(opt.stateTensors().isEmpty)
    }
}
