import Foundation
import XCTest
@testable import MiniMindFormats

/// Our torch.save-compatible writer. (That torch.load(weights_only=True) accepts these files was
/// checked with Scripts/gen_checkpoint_fixtures.py --validate-pth; see Docs/Formats.md.)
final class PTHWriterTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mm-pth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func testResumeFileRoundTripsThroughOurReader() throws {
        try CheckpointFixtures.require()
        let original = try PTHFile.read(CheckpointFixtures.url("pth_resume.pth"))
        let out = tmp.appendingPathComponent("resume.pth")
        try PTHFile.write(original, to: out)
        let back = try PTHFile.read(out)
        guard let expected = CheckpointFixtures.manifest["pth"]?["pth_resume.pth"] else { return XCTFail("manifest") }
        CheckpointFixtures.assertTree(back, equals: expected, "rewritten resume")
    }

    func testEveryFixtureStateDictRoundTrips() throws {
        try CheckpointFixtures.require()
        for name in ["pth_dtypes.pth", "pth_views.pth", "pth_release_tied.pth"] {
            let sd = try PTHFile.load(CheckpointFixtures.url(name))
            let out = tmp.appendingPathComponent(name)
            try PTHFile.write(sd, to: out)
            let back = try PTHFile.load(out)
            XCTAssertEqual(back.keys, sd.keys, name)
            for k in sd.keys { XCTAssertEqual(back[k], sd[k], "\(name) \(k)") }
        }
    }

    func testTiedWeightsAreWrittenOnceAndEntriesAre64ByteAligned() throws {
        try CheckpointFixtures.require()
        let sd = try PTHFile.load(CheckpointFixtures.url("pth_release_tied.pth"))
        let out = tmp.appendingPathComponent("tied.pth")
        try PTHFile.write(sd, to: out)
        let zip = try ZipArchive(store: ByteStore.map(out), path: out.path)
        let storages = zip.entries.filter { $0.name.hasPrefix("archive/data/") }
        XCTAssertEqual(storages.count, sd.count - 1, "lm_head.weight shares embed_tokens' storage")
        for e in zip.entries { XCTAssertEqual(try zip.dataRange(e).offset % 64, 0, e.name) }
        XCTAssertNotNil(zip.entry("archive/version"))
        let back = try PTHFile.load(out)
        XCTAssertTrue(back["lm_head.weight"]?.store === back["model.embed_tokens.weight"]?.store)
    }

    func testScalarsOfEveryKindAndBigIntegers() throws {
        let value = PickleValue.dict([
            "ints": .list([.int(0), .int(255), .int(256), .int(65535), .int(65536), .int(-1), .int(Int64(Int32.min)),
                           .int(Int64(Int32.max) + 1), .int(Int64.max), .int(Int64.min)]),
            "big": .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0x40]),
            "float": .float(-0.1), "text": .string("日本 \"q\"\n"), "bytes": .bytes(Data([0, 200, 255])),
            "tuple": .tuple([.int(1), .tuple([]), .tuple([.none, .bool(true), .bool(false), .float(2)])]),
        ])
        let out = tmp.appendingPathComponent("scalars.pth")
        try PTHFile.write(value, to: out)
        let back = try PTHFile.read(out)
        XCTAssertEqual(back.description, value.description)
        XCTAssertEqual(back["ints"]?.arrayValue?.compactMap(\.intValue),
                       [0, 255, 256, 65535, 65536, -1, Int64(Int32.min), Int64(Int32.max) + 1, Int64.max, Int64.min])
        XCTAssertEqual(CheckpointFixtures.integerString(back["big"] ?? .none), "1180591620717411303424")
        if case let .bytes(d)? = back["bytes"] { XCTAssertEqual(Array(d), [0, 200, 255]) } else { XCTFail("bytes") }
    }

    func testAtomicWriteLeavesNoPartialFileOnFailure() throws {
        let missingDir = tmp.appendingPathComponent("no/such/dir/x.pth")
        XCTAssertThrowsError(try PTHFile.write(.dict([:]), to: missingDir))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), [])
    }
}

/// Developer check (skipped unless MINIMIND_EXPORT_DIR is set): writes our outputs for every
/// fixture so torch can judge them:
///   MINIMIND_EXPORT_DIR=/tmp/x swift test ... --filter WriterExport
///   python3 Scripts/gen_checkpoint_fixtures.py --validate-pth /tmp/x/*.pth
///   python3 Scripts/gen_checkpoint_fixtures.py --validate-safetensors /tmp/x/*.safetensors
final class WriterExportTests: XCTestCase {
    func testExportWriterOutputsForTorchValidation() throws {
        guard let dir = ProcessInfo.processInfo.environment["MINIMIND_EXPORT_DIR"] else {
            throw XCTSkip("set MINIMIND_EXPORT_DIR to export writer outputs for validation with torch (Docs/Formats.md)")
        }
        try CheckpointFixtures.require()
        let out = URL(fileURLWithPath: dir)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for name in ["pth_dtypes.pth", "pth_views.pth", "pth_release_tied.pth", "pth_resume.pth", "pth_protocol4.pth"] {
            // The whole decoded object, so nested resume files are rewritten as they were saved.
            try PTHFile.write(try PTHFile.read(CheckpointFixtures.url(name)), to: out.appendingPathComponent("swift_" + name))
        }
        let tied = try PTHFile.load(CheckpointFixtures.url("pth_release_tied.pth"))
        try PTHFile.write(tied, to: out.appendingPathComponent("swift_statedict_pth_release_tied.pth"))
        let st = try Safetensors.read(CheckpointFixtures.url("st_dtypes.safetensors"))
        try Safetensors.write(st, to: out.appendingPathComponent("swift_st_dtypes.safetensors"))
    }
}
