import XCTest
import TestSupport
@testable import MiniMindTensor

/// Tests/Fixtures/optim/optim_fixtures.json, written by Scripts/gen_optim_fixtures.py from
/// torch.optim.AdamW, clip_grad_norm_ and transformers' schedules.
struct OptimFixture: Decodable {
    struct Parameter: Decodable {
        let name: String
        let shape: [Int]
        let requires_grad: Bool
        let initial: [Float]
    }
    struct ParamState: Decodable {
        let step: Double
        let exp_avg: [Float]
        let exp_avg_sq: [Float]
    }
    struct Scenario: Decodable {
        let name: String
        let lr: Double
        let betas: [Double]
        let eps: Double
        let weight_decay: Double
        let max_norm: Float?
        let schedule_total: Int?
        let lrs: [Double]
        let clip_norms: [Float]
        let after: [String: [String: [Float]]]
        let state_after_5: [String: ParamState]
    }
    struct Schedule: Decodable {
        let base: Double
        let total: Int
        let warmup: Int?
        let min_lr_rate: Double?
        let lrs: [Double]
    }

    let steps: Int
    let parameters: [Parameter]
    let grads: [String: [[Float]?]]
    let scenarios: [Scenario]
    let schedules: [String: Schedule]

    static func load() throws -> OptimFixture {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Fixtures").path) {
            dir = dir.deletingLastPathComponent()
        }
        let url = dir.appendingPathComponent("Fixtures/optim/optim_fixtures.json")
        return try JSONDecoder().decode(OptimFixture.self, from: Data(contentsOf: url))
    }

    func scenario(_ name: String) throws -> Scenario {
        try XCTUnwrap(scenarios.first { $0.name == name }, "fixture has no scenario \(name)")
    }

    /// Fresh parameter tensors at the fixture's initial values, in fixture order.
    func makeParameters() -> [(String, Tensor)] {
        parameters.map { ($0.name, Tensor(shape: $0.shape, data: $0.initial, requiresGrad: $0.requires_grad)) }
    }

    /// Sets every parameter's gradient for 1-based `step` (nil where the fixture has none).
    func setGrads(_ params: [(String, Tensor)], step: Int) {
        for (name, p) in params {
            let g = grads[name]?[step - 1] ?? nil
            p.grad = g.map { Tensor(shape: p.shape, data: $0) }
        }
    }
}

/// Worst ratio |a − b| / (|b| + max|b|) over two tensors' values: the smallest `tol` for which
/// every element satisfies |a − b| ≤ tol·|b| + tol·max|b| (allclose with rtol = tol and atol scaled
/// to the tensor). The atol term matters only for elements near zero, where an update of size lr
/// cancels the parameter and a 1-ulp difference in the update is a large elementwise ratio.
func maxRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    // NaN (failing every `<=`) on a length mismatch or a NaN value, via worstDifference.
    let scale = b.reduce(0.0) { max($0, abs(Double($1))) }
    return worstDifference(a, b) { x, y in
        let denom = abs(y) + scale
        return denom == 0 ? abs(x - y) : abs(x - y) / denom
    }
}
