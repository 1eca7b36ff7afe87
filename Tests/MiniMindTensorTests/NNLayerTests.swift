import XCTest
@testable import MiniMindTensor

/// Layers: PyTorch's default initialisation distributions and forward = the op functions.
final class NNLayerTests: XCTestCase {
    func testLinearDefaultInitIsPyTorchKaimingUniform() {
        // torch.nn.Linear.reset_parameters: kaiming_uniform_(a=√5) → U(−1/√in, 1/√in); bias the same bound.
        var g = SeededGenerator(seed: 42)
        let inF = 256, outF = 128
        let layer = Linear(inF, outF, generator: &g)
        let bound = 1 / Double(inF).squareRoot()
        XCTAssertEqual(layer.weight.shape, [outF, inF])
        XCTAssertEqual(layer.bias?.shape, [outF])
        let w = layer.weight.toArray().map(Double.init)
        XCTAssertTrue(w.allSatisfy { abs($0) <= bound })
        let mean = w.reduce(0, +) / Double(w.count)
        let variance = w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)
        // U(−b, b) has variance b²/3; with 32768 samples the estimate is within a few percent.
        XCTAssertEqual(variance, bound * bound / 3, accuracy: 0.03 * bound * bound / 3)
        XCTAssertEqual(mean, 0, accuracy: 0.02 * bound)
        XCTAssertEqual(w.max() ?? 0, bound, accuracy: 0.01 * bound)
        XCTAssertTrue((layer.bias?.toArray() ?? []).allSatisfy { abs(Double($0)) <= bound })
        XCTAssertNil(Linear(3, 2, bias: false, generator: &g).bias)
        XCTAssertEqual(Linear(3, 2, bias: false, generator: &g).namedParameters().map(\.0), ["weight"])
    }

    func testEmbeddingInitIsStandardNormal() {
        var g = SeededGenerator(seed: 5)
        let e = Embedding(500, 64, generator: &g)
        let w = e.weight.toArray().map(Double.init)
        let mean = w.reduce(0, +) / Double(w.count)
        let variance = w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.03)
    }

    func testForwardUsesTheOps() {
        var g = SeededGenerator(seed: 8)
        let x = Tensor.randn([2, 3, 4], generator: &g)
        let fc = Linear(4, 5, generator: &g)
        XCTAssertEqual(fc(x).toArray(), linear(x, weight: fc.weight, bias: fc.bias).toArray())
        XCTAssertEqual(fc(x).shape, [2, 3, 5])
        let rms = RMSNorm(4, eps: 1e-6)
        XCTAssertEqual(rms.weight.toArray(), [1, 1, 1, 1])
        XCTAssertEqual(rms(x).toArray(), rmsNorm(x, weight: rms.weight, eps: 1e-6).toArray())
        let ln = LayerNorm(4)
        XCTAssertEqual(ln.bias?.toArray(), [0, 0, 0, 0])
        XCTAssertEqual(ln(x).toArray(), layerNorm(x, weight: ln.weight, bias: ln.bias, eps: 1e-5).toArray())
        XCTAssertTrue(LayerNorm(4, elementwiseAffine: false).namedParameters().isEmpty)
        XCTAssertEqual(LayerNorm(4, bias: false).namedParameters().map(\.0), ["weight"])
        let emb = Embedding(10, 4, generator: &g)
        let rows = emb([3, 7, 3], shape: [1, 3])
        XCTAssertEqual(rows.shape, [1, 3, 4])
        XCTAssertEqual(Array(rows.toArray()[0..<4]), Array(emb.weight.toArray()[12..<16]))
    }

    func testFrozenLayerGetsNoGradientButInputDoes() {
        var g = SeededGenerator(seed: 2)
        let fc = Linear(3, 2, generator: &g)
        fc.freeze()
        let x = Tensor.randn([4, 3], generator: &g, requiresGrad: true)
        fc(x).sum().backward()
        XCTAssertNil(fc.weight.grad)
        XCTAssertNil(fc.bias?.grad)
        XCTAssertNotNil(x.grad)
    }

    func testTrainingStepThroughModules() throws {
        // Layers + AdamW + clipping reduce a small regression loss.
        var g = SeededGenerator(seed: 11)
        let net = Module()
        let a = net.register(child: "a", Linear(3, 8, generator: &g))
        let norm = net.register(child: "norm", RMSNorm(8))
        let b = net.register(child: "b", Linear(8, 1, generator: &g))
        let x = Tensor.randn([16, 3], generator: &g)
        let y = Tensor.randn([16, 1], generator: &g)
        let opt = AdamW(parameters: net.namedParameters(trainableOnly: true), lr: 1e-2)
        func loss() -> Tensor { (b(norm(a(x))) - y).square().mean() }
        let initial = loss().item
        for _ in 0..<50 {
            opt.zeroGrad()
            loss().backward()
            clipGradNorm(net.parameters(trainableOnly: true), maxNorm: 1)
            opt.step()
        }
        XCTAssertLessThan(loss().item, 0.5 * initial)
    }
}
