import Foundation
import XCTest
import TestSupport
@testable import MiniMindFormats

/// Hundreds of mutated variants of every valid fixture (truncations, byte flips, saturated length
/// fields, mutated pickles inside intact zips, random bytes). Each reader must return or throw a
/// CheckpointError — never crash or hang. A seeded generator keeps failures reproducible.
final class CheckpointFuzzTests: XCTestCase {

    enum Reader: CaseIterable { case pth, safetensors, npy }

    /// Reads `data` with `reader` and touches every tensor. Returns false when it threw.
    @discardableResult
    private func exercise(_ data: Data, _ reader: Reader, _ label: String) -> Bool {
        do {
            switch reader {
            case .pth:
                let root = try PTHFile.read(data: data, path: label)
                if let sd = try? PTHFile.stateDict(from: root) { for (_, t) in sd.entries { _ = try t.toTensor() } }
                _ = root.description
            case .safetensors:
                for (_, t) in try Safetensors.read(data: data, path: label).entries { _ = try t.toTensor() }
            case .npy:
                _ = try NPYFile.read(data: data, path: label).toTensor()
            }
            return true
        } catch is CheckpointError {
            return false
        } catch {
            XCTFail("\(label): untyped error \(error)")
            return false
        }
    }

    private func mutations(of original: Data, rng: inout SplitMix64, focus: Range<Int>? = nil) -> [Data] {
        var out: [Data] = []
        let n = original.count
        // Truncations: every 1/60th of the file, and byte by byte near both ends.
        var cuts = Set((0..<60).map { $0 * n / 60 })
        for k in 0..<40 { cuts.insert(min(k, n)); cuts.insert(max(0, n - k)) }
        for c in cuts.sorted() where c < n { out.append(original.prefix(c)) }
        let region = focus ?? 0..<n
        for _ in 0..<150 {              // byte flips, concentrated in `region` when given
            var d = original
            for _ in 0..<(1 + rng.below(4)) {
                let i = region.lowerBound + rng.below(region.count)
                d[i] ^= UInt8(truncatingIfNeeded: 1 + rng.below(255))
            }
            out.append(d)
        }
        for _ in 0..<60 {              // saturated or huge length/offset fields
            var d = original
            let i = region.lowerBound + rng.below(max(1, region.count - 8))
            let patterns: [[UInt8]] = [[0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0x80],
                                       [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0, 0, 0, 0, 0x40]]
            let p = patterns[rng.below(patterns.count)]
            for (k, b) in p.enumerated() where i + k < d.count { d[i + k] = b }
            out.append(d)
        }
        for _ in 0..<20 {              // random garbage keeping a valid prefix
            var d = original.prefix(rng.below(n))
            d.append(contentsOf: (0..<rng.below(300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            out.append(d)
        }
        return out
    }

    func testEveryReaderSurvivesMutatedFiles() throws {
        try CheckpointFixtures.require()
        let files: [(String, Reader)] = [
            ("pth_dtypes.pth", .pth), ("pth_views.pth", .pth), ("pth_resume.pth", .pth), ("pth_protocol4.pth", .pth),
            ("pth_release_tied.pth", .pth), ("pth_forbidden_os_system.pth", .pth),
            ("st_dtypes.safetensors", .safetensors), ("hf_clip_tiny/model.safetensors", .safetensors),
            ("npy_f32.npy", .npy), ("npy_i64.npy", .npy), ("npy_bigendian_f32.npy", .npy),
        ]
        var rng = SplitMix64(state: 0x5EED)
        var total = 0, rejected = 0
        let start = Date()
        for (name, reader) in files {
            let original = try CheckpointFixtures.bytes(name)
            XCTAssertEqual(exercise(original, reader, name), !name.contains("forbidden"), "unmutated \(name)")
            var focus: Range<Int>? = nil
            if reader == .pth {
                // Mutate the pickle inside an intact zip too: that reaches the pickle machine.
                let zip = try ZipArchive(store: .copying(original), path: name)
                if let e = zip.entries.first(where: { $0.name.hasSuffix("data.pkl") }) {
                    let r = try zip.dataRange(e)
                    focus = r.offset..<(r.offset + r.length)
                }
            }
            var variants = mutations(of: original, rng: &rng)
            if let focus { variants += mutations(of: original, rng: &rng, focus: focus) }
            for (i, v) in variants.enumerated() {
                total += 1
                if !exercise(v, reader, "\(name)#\(i)") { rejected += 1 }
            }
        }
        // Random bytes, and random bytes behind each format's magic.
        let prefixes: [(Data, Reader)] = [(Data([0x50, 0x4B, 0x03, 0x04]), .pth), (Data(), .pth), (Data([0x80, 0x02]), .pth),
                                          (Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0]), .npy), (Data([16, 0, 0, 0, 0, 0, 0, 0, 0x7B]), .safetensors)]
        for (prefix, reader) in prefixes {
            for _ in 0..<60 {
                var d = prefix
                d.append(contentsOf: (0..<rng.below(2000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                total += 1
                if !exercise(d, reader, "random") { rejected += 1 }
            }
        }
        XCTAssertGreaterThan(total, 3000)
        XCTAssertGreaterThan(rejected, total / 2, "most mutations should be rejected with a typed error")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "fuzzing must stay fast")
    }

    func testHostilePickles() throws {
        // Pickles that are valid opcode streams but hostile structures, inside a torch-like zip.
        func archive(_ pkl: [UInt8]) throws -> Data {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).pth")
            defer { try? FileManager.default.removeItem(at: url) }
            let out = try AtomicFileWriter(url)
            let zip = ZipWriter(out)
            try zip.add("archive/data.pkl", pkl)
            try zip.add("archive/data/0", [UInt8](repeating: 0, count: 8))
            try zip.finish()
            try out.commit()
            return try Data(contentsOf: url)
        }
        let storage: [UInt8] = Array("(X\u{07}\0\0\0storagectorch\nFloatStorage\nX\u{01}\0\0\00X\u{03}\0\0\0cpuK\u{02}tQ".utf8)
        let cases: [(String, [UInt8])] = [
            ("deep nesting", [0x80, 0x02] + [UInt8](repeating: 0x5D, count: 100_000) + [UInt8](repeating: 0x61, count: 99_999) + [0x2E]),
            ("self-containing list", [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]),
            ("billion laughs", [0x80, 0x02, 0x5D] + Array(repeating: [0x32, 0x32, 0x86], count: 60).flatMap { $0 } + [0x2E]),
            ("expand over tiny storage", [0x80, 0x02] + Array("ctorch._utils\n_rebuild_tensor_v2\n(".utf8) + storage
                + [0x4B, 0, 0x4A, 0xFF, 0xFF, 0xFF, 0x7F, 0x4A, 0xFF, 0xFF, 0xFF, 0x7F, 0x86, 0x4B, 0, 0x4B, 0, 0x86, 0x89, 0x4E, 0x74, 0x52, 0x2E]),
            ("view past storage", [0x80, 0x02] + Array("ctorch._utils\n_rebuild_tensor_v2\n(".utf8) + storage
                + [0x4B, 1, 0x4B, 2, 0x85, 0x4B, 1, 0x85, 0x89, 0x4E, 0x74, 0x52, 0x2E]),
            ("stack underflow", [0x80, 0x02, 0x61, 0x2E]),
            ("memo miss", [0x80, 0x02, 0x6A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]),
            ("huge string length", [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF]),
            ("no STOP", [0x80, 0x02, 0x4E]),
        ]
        for (label, pkl) in cases {
            let start = Date()
            XCTAssertThrowsError(try PTHFile.read(data: try archive(pkl), path: label), label) { e in
                XCTAssertTrue(e is CheckpointError, "\(label): \(e)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 2, label)
        }
    }
}
