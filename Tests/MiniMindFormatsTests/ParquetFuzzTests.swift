import Foundation
import XCTest
import TestSupport
import MiniMindFormats

/// Hundreds of seeded mutations of the fixtures: truncations, byte flips in footers and page
/// headers, huge varints, forged footer lengths and random bytes. Each read must finish with rows
/// or a typed ParquetError — never a crash, a hang, or another kind of error.
final class ParquetFuzzTests: XCTestCase {
    /// Mutations are read from memory (`ParquetReader(data:)`, the same code paths as files past the
    /// positional read); a sample also goes through real files.
    func testMutatedFilesNeverCrash() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        func read(_ bytes: [UInt8], viaFile: Bool) throws {
            if viaFile {
                let url = scratch.appendingPathComponent("m.parquet")
                try writeQuickly(bytes, to: url)
                try ParquetFixtures.readAll(url)
            } else {
                try ParquetFixtures.readAll(try ParquetReader(data: Data(bytes), name: "mutation"))
            }
        }
        var rng = SplitMix64(state: 0x5EED_0F_BA55)
        let sources = ParquetFixtures.all
        var outcomes = (read: 0, refused: 0)
        let started = Date()
        for name in sources {
            let original = Array(try Data(contentsOf: ParquetFixtures.url(name)))
            let pageHeaders = try pageHeaderOffsets(ParquetFixtures.url(name))
            for trial in 0..<64 {
                let mutated = mutate(original, pageHeaders: pageHeaders, kind: trial % 8, rng: &rng)
                do {
                    try read(mutated, viaFile: trial % 10 == 0)
                    outcomes.read += 1
                } catch let error as ParquetError {
                    XCTAssertFalse(error.description.isEmpty)
                    outcomes.refused += 1
                } catch {
                    XCTFail("\(name) mutation \(trial) (kind \(trial % 8)): untyped error \(error)")
                }
            }
        }
        // Pure random bytes, with and without the magic at both ends.
        for trial in 0..<60 {
            var bytes = (0..<Int.random(in: 0..<4096, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if trial % 2 == 0, bytes.count >= 12 {
                bytes.replaceSubrange(0..<4, with: Array("PAR1".utf8))
                bytes.replaceSubrange((bytes.count - 4)..., with: Array("PAR1".utf8))
                let length = UInt32.random(in: 0...UInt32(bytes.count - 12), using: &rng)
                bytes.replaceSubrange((bytes.count - 8)..<(bytes.count - 4), with: withUnsafeBytes(of: length.littleEndian, Array.init))
            }
            do { try read(bytes, viaFile: trial % 10 == 0); outcomes.read += 1 } catch is ParquetError { outcomes.refused += 1 }
        }
        print("Parquet fuzz: \(outcomes.read) mutated files read, \(outcomes.refused) refused with ParquetError, "
              + String(format: "%.2f s", Date().timeIntervalSince(started)))
        XCTAssertGreaterThan(outcomes.refused, 500, "the mutations should mostly break the files")
    }

    /// Foundation's Data.write is slow here (about 9 ms a file); a plain stdio write is not.
    private func writeQuickly(_ bytes: [UInt8], to url: URL) throws {
        guard let file = fopen(url.path, "wb") else { throw CocoaError(.fileWriteUnknown) }
        defer { fclose(file) }
        guard bytes.withUnsafeBytes({ fwrite($0.baseAddress, 1, $0.count, file) }) == bytes.count else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// Offsets where column chunks (and so their first page headers) start, as the footer declares them.
    private func pageHeaderOffsets(_ url: URL) throws -> [Int] {
        let reader = try ParquetReader(url: url)
        return (0..<reader.rowGroupCount).flatMap { reader.columnChunks(inRowGroup: $0).map { Int($0.offset) } }
    }

    private func mutate(_ original: [UInt8], pageHeaders: [Int], kind: Int, rng: inout SplitMix64) -> [UInt8] {
        var bytes = original
        let footerLength = Int(bytes[bytes.count - 8]) | Int(bytes[bytes.count - 7]) << 8 | Int(bytes[bytes.count - 6]) << 16
        let footerStart = bytes.count - 8 - footerLength
        func flip(_ range: Range<Int>, times: Int) {
            guard !range.isEmpty else { return }
            for _ in 0..<times { bytes[Int.random(in: range, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
        }
        switch kind {
        case 0:  // truncation anywhere
            bytes.removeLast(Int.random(in: 1..<bytes.count, using: &rng))
        case 1:  // truncation of the data area, footer kept
            let cut = Int.random(in: 4..<footerStart, using: &rng)
            bytes = Array(bytes[0..<cut]) + Array(bytes[footerStart...])
        case 2:  // byte flips in the footer
            flip(footerStart..<(bytes.count - 8), times: Int.random(in: 1...4, using: &rng))
        case 3:  // byte flips in page headers
            let start = pageHeaders.randomElement(using: &rng) ?? 4
            flip(start..<min(start + 24, footerStart), times: Int.random(in: 1...3, using: &rng))
        case 4:  // a huge varint written over a page header or the footer
            let start = Bool.random(using: &rng) ? (pageHeaders.randomElement(using: &rng) ?? 4)
                                                 : Int.random(in: footerStart..<(bytes.count - 8), using: &rng)
            let length = Int.random(in: 5...12, using: &rng)
            for i in start..<min(start + length, bytes.count - 8) { bytes[i] = 0xFF }
            if start + length < bytes.count - 8 { bytes[start + length] = 0x7F }
        case 5:  // byte flips anywhere in the data
            flip(4..<footerStart, times: Int.random(in: 1...16, using: &rng))
        case 6:  // forged footer length
            let length = UInt32.random(in: 0...UInt32(bytes.count + 64), using: &rng)
            bytes.replaceSubrange((bytes.count - 8)..<(bytes.count - 4), with: withUnsafeBytes(of: length.littleEndian, Array.init))
        default:  // a run of random bytes pasted over a page body
            let start = Int.random(in: 4..<footerStart, using: &rng)
            for i in start..<min(start + 64, footerStart) { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        }
        return bytes
    }
}
