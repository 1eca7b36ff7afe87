import Foundation
import XCTest
@testable import MiniMindFormats

/// f16/bf16 conversions against torch's `.half()` / `.bfloat16()` on ~13,000 inputs (random bit
/// patterns, powers of two across the subnormal/overflow range, exact ties and their neighbours).
final class HalfPrecisionTests: XCTestCase {
    private func inputs() throws -> (x: [Float], half: [Int64], bf16: [Int64]) {
        try CheckpointFixtures.require()
        let x = try NPYFile.read(CheckpointFixtures.url("round_inputs_f32.npy")).toTensor().toArray()
        let h = try NPYFile.read(CheckpointFixtures.url("round_half_bits.npy")).int64Values()
        let b = try NPYFile.read(CheckpointFixtures.url("round_bf16_bits.npy")).int64Values()
        XCTAssertEqual(x.count, CheckpointFixtures.manifest["rounding"]?["count"]?.intValue)
        return (x, h, b)
    }

    func testNarrowingMatchesTorchRoundToNearestEven() throws {
        let (x, half, bf16) = try inputs()
        let t = Tensor(shape: [x.count], data: x)
        let ours16 = try TensorData(tensor: t, dtype: .f16).bytes, oursBF = try TensorData(tensor: t, dtype: .bf16).bytes
        var mismatches: [String] = []
        for i in x.indices {
            let h = UInt16(ours16[2 * i]) | UInt16(ours16[2 * i + 1]) << 8
            let b = UInt16(oursBF[2 * i]) | UInt16(oursBF[2 * i + 1]) << 8
            if x[i].isNaN {
                // NaN payload bits are not specified; torch's CPU paths differ among themselves.
                if !HalfPrecision.halfBitsToFloat(h).isNaN || !BFloat16Bits.float(b).isNaN { mismatches.append("NaN \(i)") }
                continue
            }
            if Int64(h) != half[i] { mismatches.append("f16 \(x[i]) (0x\(String(x[i].bitPattern, radix: 16))): ours 0x\(String(h, radix: 16)) torch 0x\(String(half[i], radix: 16))") }
            if Int64(b) != bf16[i] { mismatches.append("bf16 \(x[i]): ours 0x\(String(b, radix: 16)) torch 0x\(String(bf16[i], radix: 16))") }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }

    func testWideningIsExactForAllHalfBitPatterns() throws {
        // Cross-check against the compiler runtime's Float16 conversion where the type exists.
        #if !(os(macOS) && arch(x86_64))
        for bits in 0...0xFFFF {
            let ours = HalfPrecision.halfToFloatTable[bits]
            let reference = Float(Float16(bitPattern: UInt16(bits)))
            XCTAssertTrue(ours.bitPattern == reference.bitPattern || (ours.isNaN && reference.isNaN), "0x\(String(bits, radix: 16))")
        }
        #endif
        // And widening then narrowing returns every non-NaN half exactly.
        for bits in 0...0xFFFF {
            let f = HalfPrecision.halfToFloatTable[bits]
            if !f.isNaN { XCTAssertEqual(HalfPrecision.floatToHalfBits(f), UInt16(bits)) }
        }
    }
}
