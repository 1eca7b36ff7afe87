import XCTest
import TestSupport
@testable import MiniMindTensor

/// Parity with PyTorch / transformers on Tests/Fixtures/opsA/opsa_parity.json (made by
/// Scripts/gen_opsa_fixtures.py): outputs and the autograd gradients of a stored cotangent.
/// Tolerances (in Docs/Parity.md) are relative to max(1, |reference|).
final class OpsATorchParityTests: XCTestCase {
    struct Entry: Decodable { let shape: [Int]; let data: [Double] }

    enum Value: Decodable {
        case tensor(Entry), ints([Int])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let e = try? c.decode(Entry.self) { self = .tensor(e) } else { self = .ints(try c.decode([Int].self)) }
        }
    }

    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/opsA/opsa_parity.json")

    var values: [String: Value] = [:]

    override func setUpWithError() throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        values = try decoder.decode([String: Value].self, from: Data(contentsOf: Self.fixtureURL))
    }

    func tensor(_ name: String, requiresGrad: Bool = false) throws -> Tensor {
        guard case .tensor(let e)? = values[name] else { throw FixtureMissing(name: name, script: "Scripts/gen_opsa_fixtures.py") }
        return Tensor(shape: e.shape, data: e.data.map(Float.init), requiresGrad: requiresGrad)
    }

    func ints(_ name: String) throws -> [Int] {
        guard case .ints(let list)? = values[name] else { throw FixtureMissing(name: name, script: "Scripts/gen_opsa_fixtures.py") }
        return list
    }

    func assertClose(_ got: Tensor?, _ want: Tensor, tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let got else { XCTFail("\(what): missing", file: file, line: line); return }
        XCTAssertEqual(got.shape, want.shape, what, file: file, line: line)
        XCTAssertClose(got.toArray(), want.toArray(), tolerance: Double(tol), relativeToOne, "\(what): worst error", file: file, line: line)
    }

    /// Runs `op` on fresh leaves of the named inputs, backpropagates the stored cotangent and compares
    /// the output and every input gradient with PyTorch's.
    func check(_ prefix: String, inputs: [String], forward: Float = 2e-6, gradient: Float = 1e-5,
               file: StaticString = #filePath, line: UInt = #line, _ op: ([Tensor]) -> Tensor) throws {
        let leaves = try inputs.map { try tensor("\(prefix)_\($0)", requiresGrad: true) }
        let out = op(leaves)
        assertClose(out, try tensor("\(prefix)_out"), tol: forward, "\(prefix) output", file: file, line: line)
        out.backward(seed: try tensor("\(prefix)_cot"))
        XCTAssertEqual(leaves.count, inputs.count)
        for (name, leaf) in zip(inputs, leaves) {
            assertClose(leaf.grad, try tensor("\(prefix)_grad_\(name)"), tol: gradient, "\(prefix) d\(name)", file: file, line: line)
        }
    }

    func testSoftmaxAndLogSoftmaxWithMasksAndLargeLogits() throws {
        try check("softmax", inputs: ["x"]) { softmax($0[0]) }
        try check("log_softmax", inputs: ["x"]) { logSoftmax($0[0]) }
    }

    func testCrossEntropyWithIgnoreIndex() throws {
        let targets = try ints("ce_targets")
        try check("ce_mean", inputs: ["logits"]) { crossEntropy(logits: $0[0], targets: targets) }
        try check("ce_sum", inputs: ["logits"]) { crossEntropy(logits: $0[0], targets: targets, reduction: .sum) }
        try check("ce_none", inputs: ["logits"]) { crossEntropy(logits: $0[0], targets: targets, reduction: .none) }
    }

    func testRMSNormAndLayerNorm() throws {
        try check("rms", inputs: ["x", "w"]) { rmsNorm($0[0], weight: $0[1], eps: 1e-5) }
        try check("ln", inputs: ["x", "w", "b"]) { layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) }
    }

    func testActivationsIncludingExtremes() throws {
        try check("silu", inputs: ["x"]) { silu($0[0]) }
        try check("gelu", inputs: ["x"]) { gelu($0[0]) }
        try check("gelu_tanh", inputs: ["x"]) { geluTanh($0[0]) }
        try check("quick_gelu", inputs: ["x"]) { quickGelu($0[0]) }
        try check("swiglu", inputs: ["gate", "up"]) { swiglu(gate: $0[0], up: $0[1]) }
    }

    func testEmbeddingScatterAdd() throws {
        let ids = try ints("emb_ids")
        try check("emb", inputs: ["w"], forward: 0, gradient: 1e-6) { embedding(ids: ids, weight: $0[0]) }
    }
}
