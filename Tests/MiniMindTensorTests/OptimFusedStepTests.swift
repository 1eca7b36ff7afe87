import XCTest
@testable import MiniMindTensor

/// AdamW's fused pass: the clip's factor applied as the gradients are read
/// (`step(gradientScale:)`) and the bf16 weight copies written by the update itself
/// (`step(refreshingBFloat16Copies:)`), against torch.optim.AdamW after clip_grad_norm_ (fixture)
/// and against the separate passes they replace, bit for bit.
final class OptimFusedStepTests: XCTestCase {
    override func tearDown() { BFloat16WeightCache.removeAll() }

    func testClipInTheStepMatchesTorch() throws {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario("clipped")
        let maxNorm = try XCTUnwrap(sc.max_norm)
        let params = fx.makeParameters()
        let opt = AdamW(parameters: params, lr: sc.lr, betas: (sc.betas[0], sc.betas[1]), eps: sc.eps, weightDecay: sc.weight_decay)
        var scaledSteps = 0
        for step in 1...fx.steps {
            opt.zeroGrad()
            fx.setGrads(params, step: step)
            let raw = params.map { $0.1.grad?.toArray() }
            let clip = gradientClip(params.filter { $0.1.requiresGrad }.map { $0.1 }, maxNorm: maxNorm)
            XCTAssertEqual(Double(clip.norm), Double(sc.clip_norms[step - 1]), accuracy: 1e-6 * Double(sc.clip_norms[step - 1]))
            if clip.scale != nil { scaledSteps += 1 }
            opt.step(gradientScale: clip.scale)
            XCTAssertEqual(params.map { $0.1.grad?.toArray() }, raw, "step \(step): the gradients stay unscaled")
            guard let expected = sc.after["\(step)"] else { continue }
            for (name, p) in params {
                XCTAssertLessThanOrEqual(maxRelativeError(p.toArray(), try XCTUnwrap(expected[name])), OptimAdamWTests.tolerance,
                                         "step \(step): \(name)")
            }
        }
        XCTAssertGreaterThan(scaledSteps, 0, "the scenario must clip at least once")
    }

    /// Two optimizers on equal copies: clipGradNorm then step() against step(gradientScale:).
    func testScaledStepGivesTheBitsOfClipThenStep() {
        var rng = SeededGenerator(seed: 11)
        let shapes = [[257, 131], [1000], [3]]  // odd counts: the vector loop and the scalar tail
        let start = shapes.map { Tensor.randn($0, generator: &rng) }
        let grads = shapes.map { s in (0..<3).map { _ in Tensor.randn(s, generator: &rng) } }
        func run(fused: Bool) -> ([Tensor], AdamW) {
            let params = start.map { t in Tensor(shape: t.shape, data: t.toArray(), requiresGrad: true) }
            let opt = AdamW(parameters: params, lr: 1e-2, weightDecay: 0.1)
            for step in 0..<3 {
                for (p, g) in zip(params, grads) { p.grad = g[step].copy() }
                if fused {
                    let clip = gradientClip(params, maxNorm: 5)
                    XCTAssertNotNil(clip.scale)
                    opt.step(gradientScale: clip.scale)
                } else {
                    clipGradNorm(params, maxNorm: 5)
                    opt.step()
                }
            }
            return (params, opt)
        }
        let (separate, optA) = run(fused: false), (fused, optB) = run(fused: true)
        for (a, b) in zip(separate, fused) { XCTAssertEqual(a.toArray().map(\.bitPattern), b.toArray().map(\.bitPattern)) }
        for (a, b) in zip(optA.stateTensors(), optB.stateTensors()) {
            XCTAssertEqual(a.0, b.0)
            XCTAssertEqual(a.1.toArray().map(\.bitPattern), b.1.toArray().map(\.bitPattern), a.0)
        }
    }

    func testRefreshedCopiesAreTheRoundedWeights() throws {
        var rng = SeededGenerator(seed: 5)
        let matrix = Tensor.randn([33, 70], generator: &rng, requiresGrad: true)
        let vector = Tensor.randn([70], generator: &rng, requiresGrad: true)
        let opt = AdamW(parameters: [matrix, vector], lr: 1e-2)
        for p in [matrix, vector] { p.grad = Tensor.randn(p.shape, generator: &rng) }
        opt.step(gradientScale: 0.5, refreshingBFloat16Copies: true)
        let entry = try XCTUnwrap(BFloat16WeightCache.entry(matrix.pointer, count: matrix.count))
        let want = BFloat16Bits.rounded(matrix.pointer, count: matrix.count)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: entry.rounded.bits, count: matrix.count)),
                       Array(UnsafeBufferPointer(start: want.bits, count: matrix.count)))
        XCTAssertNil(BFloat16WeightCache.entry(vector.pointer, count: vector.count), "only weight matrices have copies")
    }

    func testShardedStepLeavesTheCopiesToTheCaller() {
        var rng = SeededGenerator(seed: 6)
        let matrix = Tensor.randn([16, 16], generator: &rng, requiresGrad: true)
        let opt = AdamW(parameters: [matrix], lr: 1e-2)
        opt.shard([0..<100])
        matrix.grad = Tensor.randn(matrix.shape, generator: &rng)
        opt.step(refreshingBFloat16Copies: true)
        XCTAssertNil(BFloat16WeightCache.entry(matrix.pointer, count: matrix.count),
                     "a partly updated matrix is rounded after the ranks' gather, not here")
    }
}
