import Foundation
import XCTest
@testable import MiniMindFormats

/// `.pth` files written by torch.save (Scripts/gen_checkpoint_fixtures.py), compared exactly with
/// the values torch reported when saving them.
final class PTHReaderTests: XCTestCase {
    private func assertMatchesManifest(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try CheckpointFixtures.require()
        let root = try PTHFile.read(CheckpointFixtures.url(name))
        guard let expected = CheckpointFixtures.manifest["pth"]?[name] else { return XCTFail("no manifest entry for \(name)") }
        CheckpointFixtures.assertTree(root, equals: expected, name, file: file, line: line)
    }

    func testAllDTypesScalarsEmptyAndParameter() throws {
        try assertMatchesManifest("pth_dtypes.pth")
        let sd = try PTHFile.load(CheckpointFixtures.url("pth_dtypes.pth"))
        XCTAssertEqual(sd.keys, ["f32", "f16", "bf16", "f64", "i64", "i32", "u8", "bool", "scalar", "empty", "param"])
        XCTAssertEqual(sd["scalar"]?.shape, [])
        XCTAssertEqual(sd["empty"]?.shape, [0, 3])
    }

    func testNonContiguousViewsAreMaterialisedInRowMajorOrder() throws {
        try assertMatchesManifest("pth_views.pth")
    }

    func testProtocol4PickleReadsTheSame() throws {
        try assertMatchesManifest("pth_protocol4.pth")
    }

    func testReleaseStyleTiedWeightsShareOneStorage() throws {
        try assertMatchesManifest("pth_release_tied.pth")
        let sd = try PTHFile.load(CheckpointFixtures.url("pth_release_tied.pth"))
        let emb = try sd.require("model.embed_tokens.weight"), head = try sd.require("lm_head.weight")
        XCTAssertEqual(emb.dtype, .f16)
        XCTAssertTrue(emb.store === head.store && emb.byteOffset == head.byteOffset, "tied weights should be one zero-copy slice")
    }

    func testResumeFileNestedDictWithOptimizerState() throws {
        try assertMatchesManifest("pth_resume.pth")
        let root = try PTHFile.read(CheckpointFixtures.url("pth_resume.pth"))
        XCTAssertEqual(root["epoch"]?.intValue, 3)
        XCTAssertEqual(root["step"]?.intValue, 100)
        XCTAssertEqual(root["optimizer"]?["state"]?[intKey: 0]?["exp_avg"]?.tensorValue?.shape, [2, 3])
        // load() finds the model weights under "model".
        let sd = try PTHFile.load(CheckpointFixtures.url("pth_resume.pth"))
        XCTAssertEqual(sd.keys, ["0.weight", "0.bias", "1.weight", "1.bias"])
    }

    func testForbiddenGlobalsAreNamedAndNeverRun() throws {
        try CheckpointFixtures.require()
        guard let cases = CheckpointFixtures.manifest["forbidden"]?.objectValue, cases.count == 3 else { return XCTFail("manifest lacks forbidden cases") }
        for (name, global) in cases {
            XCTAssertThrowsError(try PTHFile.read(CheckpointFixtures.url(name)), name) { error in
                XCTAssertEqual(error as? CheckpointError, .forbiddenGlobal(path: CheckpointFixtures.url(name).path, global: global.stringValue ?? "?"))
                XCTAssertTrue("\(error)".contains(global.stringValue ?? "?"), "\(error)")
            }
        }
    }

    func testCompressedLegacyAndNonZipFilesGiveClearErrors() throws {
        XCTAssertThrowsError(try PTHFile.read(data: Data([0x80, 0x02, 0x8A, 0x0A]))) { e in
            XCTAssertTrue("\(e)".contains("legacy"), "\(e)")
        }
        XCTAssertThrowsError(try PTHFile.read(data: Data("hello world, not a checkpoint".utf8)))
        XCTAssertThrowsError(try PTHFile.read(data: Data()))
    }
}
