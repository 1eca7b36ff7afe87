import XCTest
import TestSupport
@testable import MiniMindTensor

/// Parity with PyTorch / transformers on Tests/Fixtures/opsB/opsb_parity.json
/// (made by Scripts/gen_opsb_fixtures.py; tolerances in Docs/Parity.md).
final class OpsBTorchParityTests: XCTestCase {
    struct Entry: Decodable { let shape: [Int]; let data: [Double] }

    enum Value: Decodable {
        case tensor(Entry), ints([Int]), int(Int)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let e = try? c.decode(Entry.self) { self = .tensor(e) }
            else if let list = try? c.decode([Int].self) { self = .ints(list) }
            else { self = .int(try c.decode(Int.self)) }
        }
    }

    static let fixtureURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/opsB/opsb_parity.json")

    var values: [String: Value] = [:]

    override func setUpWithError() throws {
        let data = try Data(contentsOf: Self.fixtureURL)
        values = try JSONDecoder().decode([String: Value].self, from: data)
    }

    func tensor(_ name: String, requiresGrad: Bool = false) throws -> Tensor {
        guard case .tensor(let e)? = values[name] else { throw FixtureMissing(name: name, script: "Scripts/gen_opsb_fixtures.py") }
        return Tensor(shape: e.shape, data: e.data.map(Float.init), requiresGrad: requiresGrad)
    }

    func ints(_ name: String) throws -> [Int] {
        switch values[name] {
        case .ints(let list)?: return list
        case .int(let v)?: return [v]
        default: throw FixtureMissing(name: name, script: "Scripts/gen_opsb_fixtures.py")
        }
    }

    func assertClose(_ got: Tensor?, _ want: Tensor, tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let got else { XCTFail("\(what): missing", file: file, line: line); return }
        XCTAssertEqual(got.shape, want.shape, what, file: file, line: line)
        XCTAssertClose(got.toArray(), want.toArray(), tolerance: Double(tol), relativeToOne, "\(what): worst error", file: file, line: line)
    }

    func testRoPETablesMatchTransformersAndMiniMind() throws {
        let positions = try ints("positions")
        for d in [64, 96] {
            for (prefix, yarn) in [("rope", nil), ("yarn", YaRNConfig())] as [(String, YaRNConfig?)] {
                let table = RoPETable(headDim: d, maxPositions: 32768, theta: 1e6, yarn: yarn)
                // Same float32 arithmetic order as PyTorch: bit-identical frequencies.
                XCTAssertEqual(table.invFreq, try tensor("\(prefix)_d\(d)_inv_freq").toArray(), "\(prefix) d=\(d) inv_freq")
                let cosRows = indexSelect(table.cos, indices: positions), sinRows = indexSelect(table.sin, indices: positions)
                // cos/sin of the identical float32 angle; PyTorch's float32 cos/sin may differ by one ulp.
                assertClose(cosRows, try tensor("\(prefix)_d\(d)_cos"), tol: 1.2e-7, "\(prefix) d=\(d) cos")
                assertClose(sinRows, try tensor("\(prefix)_d\(d)_sin"), tol: 1.2e-7, "\(prefix) d=\(d) sin")
            }
        }
    }

    func testApplyRoPEMatchesTransformersAndMetaLlama() throws {
        let x = try tensor("apply_x"), offset = try ints("apply_offset")[0]
        let table = RoPETable(headDim: x.shape[3], maxPositions: 64, theta: 1e6)
        assertClose(applyRoPE(x, table: table, offset: offset, style: .halfSplit), try tensor("apply_half"), tol: 1e-6,
                    "half-split rope")
        assertClose(applyRoPE(x, table: table, offset: offset, style: .interleaved), try tensor("apply_interleaved"),
                    tol: 1e-6, "interleaved rope")
    }

    func testAttentionMatchesTorchSDPA() throws {
        for name in ["attn_prefill", "attn_decode"] {
            let q = try tensor("\(name)_q", requiresGrad: true), k = try tensor("\(name)_k", requiresGrad: true)
            let v = try tensor("\(name)_v", requiresGrad: true)
            let keep = try ints("\(name)_keep").map(Float.init)
            let mask = Tensor(shape: [q.shape[0], k.shape[2]], data: keep)
            let out = scaledDotProductAttention(q: q, k: k, v: v, causal: true, keyPaddingMask: mask)
            assertClose(out, try tensor("\(name)_out"), tol: 2e-6, "\(name) output")
            (out * (try tensor("\(name)_cot"))).sum().backward()
            assertClose(q.grad, try tensor("\(name)_grad_q"), tol: 1e-5, "\(name) dq")
            assertClose(k.grad, try tensor("\(name)_grad_k"), tol: 1e-5, "\(name) dk")
            assertClose(v.grad, try tensor("\(name)_grad_v"), tol: 1e-5, "\(name) dv")
        }
    }

    func testPatchEmbedMatchesConv2d() throws {
        let pixels = try tensor("patch_pixels", requiresGrad: true), weight = try tensor("patch_weight", requiresGrad: true)
        let bias = try tensor("patch_bias", requiresGrad: true)
        let out = patchEmbed(pixels: pixels, weight: weight, bias: bias, patch: weight.shape[2])
        assertClose(out, try tensor("patch_out"), tol: 2e-6, "patch output")
        (out * (try tensor("patch_cot"))).sum().backward()
        assertClose(pixels.grad, try tensor("patch_grad_pixels"), tol: 1e-5, "patch d pixels")
        assertClose(weight.grad, try tensor("patch_grad_weight"), tol: 1e-5, "patch d weight")
        assertClose(bias.grad, try tensor("patch_grad_bias"), tol: 1e-5, "patch d bias")
    }

    func testTopKMatchesTorch() throws {
        let x = try tensor("topk_x")
        let (values, indices) = topK(x, k: 3)
        XCTAssertEqual(values.toArray(), try tensor("topk_values").toArray())
        XCTAssertEqual(indices, try ints("topk_indices"))
    }
}
