import Foundation
import XCTest
@testable import MiniMindV
import MiniMindTensor

/// Hundreds of damaged image files: every decode must either succeed with a consistent image or throw
/// an `ImageError` — never crash, hang or allocate for absurd declared sizes.
final class ImageFuzzTests: XCTestCase {
    /// Deterministic generator so failures reproduce.
    struct LCG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    func mutations(of original: [UInt8], count: Int, rng: inout LCG) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for i in 0..<count {
            var bytes = original
            switch i % 6 {
            case 0: bytes = Array(bytes.prefix(rng.below(bytes.count)))              // truncated
            case 1: for _ in 0...rng.below(16) { bytes[rng.below(bytes.count)] ^= rng.byte() | 1 }  // flipped bytes
            case 2: for _ in 0...rng.below(8) { bytes[rng.below(min(bytes.count, 96))] = rng.byte() } // header damage
            case 3:                                                                   // a random run overwritten
                let start = rng.below(bytes.count), length = rng.below(bytes.count - start)
                for j in start..<(start + length) { bytes[j] = rng.byte() }
            case 4: bytes = Array(bytes.prefix(8)) + (0..<rng.below(2048)).map { _ in rng.byte() }  // magic + noise
            default:                                                                  // a chunk dropped or repeated
                let start = rng.below(bytes.count), length = rng.below(min(64, bytes.count - start))
                if rng.below(2) == 0 { bytes.removeSubrange(start..<(start + length)) }
                else { bytes.insert(contentsOf: bytes[start..<(start + length)], at: start) }
            }
            out.append(bytes)
        }
        return out
    }

    /// Decodes and checks the outcome is one of the two allowed ones.
    func survive(_ bytes: [UInt8], _ label: String) -> Bool {
        do {
            let image = try RGBImage(data: Data(bytes), source: label)
            XCTAssertEqual(image.pixels.count, image.width * image.height * 3, label)
            XCTAssertTrue(image.width >= 1 && image.height >= 1 && image.width <= 16384 && image.height <= 16384, label)
            return true
        } catch let error as ImageError {
            XCTAssertFalse(error.description.isEmpty)
            return false
        } catch {
            XCTFail("\(label): untyped error \(error)")
            return false
        }
    }

    func testMutatedFilesNeverCrash() throws {
        let start = Date()
        let manifest = try ImageFixtures.manifest()
        var rng = LCG(state: 0x5EED)
        var decoded = 0, refused = 0
        for source in manifest.sources {
            let original = try ImageFixtures.bytes(source.file)
            for (i, bytes) in mutations(of: original, count: 24, rng: &rng).enumerated() {
                if survive(bytes, "\(source.file)#\(i)") { decoded += 1 } else { refused += 1 }
            }
        }
        for i in 0..<100 {                                                            // pure noise
            if survive((0..<(1 + rng.below(512))).map { _ in rng.byte() }, "noise#\(i)") { decoded += 1 } else { refused += 1 }
        }
        let seconds = Date().timeIntervalSince(start)
        print("image fuzz: \(decoded + refused) files, \(decoded) decoded, \(refused) refused with ImageError, \(String(format: "%.2f", seconds)) s")
        XCTAssertGreaterThan(decoded + refused, 700)
        XCTAssertGreaterThan(refused, 100)
        XCTAssertLessThan(seconds, 10)
    }

    func testHugeDeclaredDimensionsAreRefusedBeforeDecoding() throws {
        func patched(_ file: String, _ edits: [(Int, [UInt8])]) throws -> [UInt8] {
            var bytes = try ImageFixtures.bytes(file)
            for (offset, value) in edits { bytes.replaceSubrange(offset..<(offset + value.count), with: value) }
            return bytes
        }
        let be32: (UInt32) -> [UInt8] = { v in withUnsafeBytes(of: v.bigEndian, Array.init) }
        let le32: (UInt32) -> [UInt8] = { v in withUnsafeBytes(of: v.littleEndian, Array.init) }
        let le16: (UInt16) -> [UInt8] = { v in withUnsafeBytes(of: v.littleEndian, Array.init) }
        let be16: (UInt16) -> [UInt8] = { v in withUnsafeBytes(of: v.bigEndian, Array.init) }
        // PNG IHDR width/height at 16 and 20 (CRC left stale: stb does not check it).
        var hostile: [(String, [UInt8])] = [
            ("png 100000²", try patched("sources/rgb_100x75.png", [(16, be32(100_000)), (20, be32(100_000))])),
            ("png 20000×1", try patched("sources/rgb_100x75.png", [(16, be32(20_000)), (20, be32(1))])),
            ("png 2³¹", try patched("sources/rgb_100x75.png", [(16, be32(0x7FFF_FFFF)), (20, be32(0x7FFF_FFFF))])),
            ("gif 65535²", try patched("sources/still_17x11.gif", [(6, le16(65535)), (8, le16(65535))])),
            ("bmp 100000²", try patched("sources/rgb_23x13.bmp", [(18, le32(100_000)), (22, le32(100_000))])),
            ("tga 65535²", try patched("sources/rgb_22x14.tga", [(12, le16(65535)), (14, le16(65535))])),
        ]
        // JPEG: height and width follow the SOF0 marker (FF C0, length, precision).
        var jpeg = try ImageFixtures.bytes("sources/q90_420_96x72.jpg")
        if let sof = (0..<(jpeg.count - 9)).first(where: { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }) {
            jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: be16(65535) + be16(65535))
            hostile.append(("jpeg 65535²", jpeg))
        } else {
            XCTFail("no SOF0 marker in the JPEG fixture")
        }
        let start = Date()
        for (label, bytes) in hostile {
            XCTAssertThrowsError(try RGBImage(data: Data(bytes), source: label), label) { error in
                guard let e = error as? ImageError else { return XCTFail("\(label): \(error)") }
                switch e {
                case .tooLarge, .corrupt: break
                default: XCTFail("\(label): unexpected \(e)")
                }
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "refusals must not decode pixels")
    }
}
