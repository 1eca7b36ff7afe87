import Foundation
import XCTest
@testable import MiniMindTensor

/// The vectorised bf16 rounding against the scalar `BFloat16Bits.round` (itself checked against
/// torch's `.bfloat16()` on ~13,000 inputs in HalfPrecisionTests), and the Linear op's rounding of
/// each operand once per step against products that round their own inputs.
final class BFloat16RoundingTests: XCTestCase {
    /// Every upper half with low halves at and around the rounding tie (0x7FFF, 0x8000, 0x8001) and
    /// the extremes, so every exponent (subnormals, infinities, NaN payloads) and both tie parities.
    func testVectorRoundingMatchesTheScalarOneOnEveryUpperHalf() {
        let lows: [UInt32] = [0, 1, 0x7FFF, 0x8000, 0x8001, 0xC000, 0xFFFF]
        var bits: [UInt32] = []
        for high in UInt32(0)...0xFFFF { for low in lows { bits.append(high << 16 | low) } }
        bits.append(contentsOf: [0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0xFFFF_FFFF])
        let x = bits.map { Float(bitPattern: $0) }
        // Odd offsets and a count that is not a multiple of 16, so the scalar tail runs too.
        for start in [0, 3] {
            let count = x.count - start - 5
            var out = [UInt16](repeating: 0xDEAD, count: count)
            x.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { BFloat16Bits.round(src.baseAddress! + start, into: $0.baseAddress!, count: count) }
            }
            var mismatches = 0
            for i in 0..<count where out[i] != BFloat16Bits.round(x[start + i]) { mismatches += 1 }
            XCTAssertEqual(mismatches, 0, "start \(start)")
        }
        // The pooled, threaded form gives the same bits.
        let big = (0..<(1 << 20) + 7).map { i in x[(i &* 7919) % x.count] }
        let buffer = big.withUnsafeBufferPointer { BFloat16Bits.rounded($0.baseAddress!, count: big.count) }
        XCTAssertTrue((0..<big.count).allSatisfy { buffer.bits[$0] == BFloat16Bits.round(big[$0]) })
    }

    /// Three Linears reading one recorded input (q/k/v) share one rounded copy of it, and each
    /// backward rounds its output gradient once for both products: values and gradients must be the
    /// bits of the same layers run on separate leaf copies of the input (each rounding afresh).
    func testSharedRoundingGivesTheBitsOfSeparateRoundings() {
        let rows = 160, inF = 192, outs = [256, 128, 144]
        var gen = SeededGenerator(seed: 21)
        let base = (0..<(rows * inF)).map { _ in gen.nextUniform() * 2 - 1 }
        let weights = outs.map { o in (0..<(o * inF)).map { _ in gen.nextUniform() - 0.5 } }
        let seeds = outs.map { o in (0..<(rows * o)).map { _ in gen.nextUniform() - 0.5 } }
        let saved = GEMMRoute.bf16Minimum
        GEMMRoute.bf16Minimum = (32, 32, 128)
        defer { GEMMRoute.bf16Minimum = saved }
        func run(shared: Bool) -> [[Float]] {
            Compute.withPrecision(.bf16) {
                let leaf = Tensor(shape: [rows, inF], data: base, requiresGrad: true)
                let x = leaf * Tensor(scalar: 1)  // a recorded result, as a norm's output is
                let ws = zip(outs, weights).map { Tensor(shape: [$0, inF], data: $1, requiresGrad: true) }
                var loss: Tensor?
                var values: [[Float]] = []
                for (i, w) in ws.enumerated() {
                    let input = shared ? x : Tensor(shape: [rows, inF], data: x.toArray())  // a leaf: rounded afresh
                    let y = linear(input, weight: w)
                    values.append(y.toArray())
                    let term = (y * Tensor(shape: [rows, outs[i]], data: seeds[i])).sum()
                    loss = loss.map { $0 + term } ?? term
                }
                if shared { XCTAssertNotNil(x.bfloat16Copy, "the recorded input keeps its copy until backward") }
                loss!.backward()
                if shared { XCTAssertNil(x.bfloat16Copy, "backward drops it") }
                return values + ws.map { $0.grad!.toArray() } + (shared ? [leaf.grad!.toArray()] : [])
            }
        }
        let together = run(shared: true), apart = run(shared: false)
        for i in 0..<(2 * outs.count) { XCTAssertEqual(together[i], apart[i], "output/weight gradient \(i)") }
        if Compute.bf16Available {
            let f32 = Compute.withPrecision(.f32) { linear(Tensor(shape: [rows, inF], data: base), weight: Tensor(shape: [outs[0], inF], data: weights[0])).toArray() }
            XCTAssertNotEqual(together[0], f32, "bf16 really ran")
        }
    }
}
