import XCTest
@testable import MiniMindV

/// Both MoE flavours against the script's PyTorch reference written from Docs/Model.md, "Language model": the output, the
/// auxiliary loss, and the input gradient of `sum(y·c) + aux` in training mode.
final class MoEParityTests: XCTestCase {
    func check(_ prefix: String, flavour: MoEConfig.Flavour) throws {
        let meta = try ModelFixtures.json("\(prefix)_config.json")
        let hidden = meta["hidden"] as? Int ?? 0, inter = meta["intermediate"] as? Int ?? 0
        let config = MoEConfig(flavour: flavour, numExperts: meta["experts"] as? Int ?? 0,
                               expertsPerToken: meta["top_k"] as? Int, sharedExperts: meta["shared"] as? Int,
                               expertIntermediateSize: inter)
        var g = SeededGenerator(seed: 0)
        let moe = MoEFeedForward(hidden: hidden, config: config, generator: &g)
        try moe.loadStateDict(try Weights.tensors(try ModelFixtures.weights("\(prefix).safetensors")).reduce(into: [:]) {
            $0[String($1.key.dropFirst("mlp.".count))] = $1.value
        })
        moe.train()
        let xData = try ModelFixtures.tensor("\(prefix)_x.npy")
        let x = Tensor(shape: xData.shape, data: xData.toArray(), requiresGrad: true)
        let y = moe(x)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(y, try ModelFixtures.tensor("\(prefix)_y.npy")), 1e-5, "\(prefix) output")
        let aux = try XCTUnwrap(moe.auxLoss)
        XCTAssertEqual(Double(aux.item), meta["aux"] as? Double ?? .nan, accuracy: 1e-7, "\(prefix) aux loss")
        ((y * (try ModelFixtures.tensor("\(prefix)_cotangent.npy"))).sum() + aux).backward()
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(try XCTUnwrap(x.grad), try ModelFixtures.tensor("\(prefix)_dx.npy")), 1e-5)
    }

    func testMiniMind2MoE() throws { try check("moe_minimind2", flavour: .minimind2) }
    func testMiniMind3MoE() throws { try check("moe_minimind3", flavour: .minimind3) }
}
