import XCTest
@testable import MiniMindTensor

final class OpsBPatchEmbedTests: XCTestCase {
    let check = OpCheck()

    /// Naive stride = kernel convolution, output laid out [N, gridH·gridW, O] (row-major grid).
    static func reference(_ x: [Double], _ w: [Double], _ bias: [Double]?, n: Int, c: Int, h: Int, wd: Int,
                          o: Int, p: Int) -> [Double] {
        let gh = h / p, gw = wd / p
        var out: [Double] = []
        for img in 0..<n {
            for gy in 0..<gh {
                for gx in 0..<gw {
                    for oc in 0..<o {
                        var s = bias?[oc] ?? 0
                        for ch in 0..<c {
                            for ky in 0..<p {
                                for kx in 0..<p {
                                    s += x[((img * c + ch) * h + gy * p + ky) * wd + gx * p + kx]
                                        * w[((oc * c + ch) * p + ky) * p + kx]
                                }
                            }
                        }
                        out.append(s)
                    }
                }
            }
        }
        return out
    }

    func testPatchEmbedMatchesNaiveConvolution() {
        // 6×7 with patch 3: the last pixel column does not fill a patch and is ignored, as in PyTorch.
        let pixels = OpCheck.random([2, 2, 6, 7], seed: 301)
        let weight = OpCheck.random([3, 2, 3, 3], seed: 302), bias = OpCheck.random([3], seed: 303)
        check.run("patchEmbed with bias", inputs: [pixels, weight, bias],
                  op: { patchEmbed(pixels: $0[0], weight: $0[1], bias: $0[2], patch: 3) }) { x in
            Self.reference(x[0], x[1], x[2], n: 2, c: 2, h: 6, wd: 7, o: 3, p: 3)
        }
        check.run("patchEmbed no bias", inputs: [pixels, weight],
                  op: { patchEmbed(pixels: $0[0], weight: $0[1], patch: 3) }) { x in
            Self.reference(x[0], x[1], nil, n: 2, c: 2, h: 6, wd: 7, o: 3, p: 3)
        }
        // Frozen encoder weights: only the pixel gradient is computed.
        check.run("patchEmbed frozen weight", inputs: [pixels, weight], differentiable: [true, false],
                  op: { patchEmbed(pixels: $0[0], weight: $0[1], patch: 3) }) { x in
            Self.reference(x[0], x[1], nil, n: 2, c: 2, h: 6, wd: 7, o: 3, p: 3)
        }
    }

    func testShapeAndTokenOrder() {
        // One channel, identity-like kernel picking the top-left pixel of each patch.
        let pixels = Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init))
        var w = [Float](repeating: 0, count: 4)
        w[0] = 1
        let out = patchEmbed(pixels: pixels, weight: Tensor(shape: [1, 1, 2, 2], data: w), patch: 2)
        XCTAssertEqual(out.shape, [1, 4, 1])
        XCTAssertEqual(out.toArray(), [0, 2, 8, 10])  // grid row-major: (0,0), (0,1), (1,0), (1,1)
    }
}
