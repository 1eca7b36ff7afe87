import Foundation
import XCTest
@testable import MiniMindFormats

/// .npy files written by numpy.save, and round trips of our writer.
final class NPYTests: XCTestCase {
    func testReadsNumpyFilesExactly() throws {
        try CheckpointFixtures.require()
        guard let files = CheckpointFixtures.manifest["npy"]?.objectValue, files.count == 8 else { return XCTFail("manifest") }
        for (name, entry) in files {
            CheckpointFixtures.assertTensor(try NPYFile.read(CheckpointFixtures.url(name)), equals: entry, name)
        }
    }

    func testRefusesFortranOrder() throws {
        try CheckpointFixtures.require()
        XCTAssertThrowsError(try NPYFile.read(CheckpointFixtures.url("npy_fortran.npy"))) { e in
            XCTAssertTrue("\(e)".contains("fortran_order"), "\(e)")
        }
    }

    func testWriterRoundTripAndNumpyLayout() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["npy_f32.npy", "npy_i64.npy", "npy_scalar.npy", "npy_empty.npy", "npy_f16.npy"] {
            let a = try NPYFile.read(CheckpointFixtures.url(name))
            let out = dir.appendingPathComponent(name)
            try NPYFile.write(a, to: out)
            XCTAssertEqual(try NPYFile.read(out), a, name)
            // numpy.save's own bytes for these arrays (version 1.0, 64-byte aligned header).
            XCTAssertEqual(try Data(contentsOf: out), try CheckpointFixtures.bytes(name), name)
        }
    }
}
