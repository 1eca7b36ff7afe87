import Foundation
import XCTest
import MiniMindFormats

/// Hand-made hostile files: each must be refused with a typed ParquetError that says what is wrong.
final class ParquetHostileTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func write(_ bytes: [UInt8], _ name: String = "f.parquet") throws -> URL {
        let url = scratch.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    private func expectError(_ bytes: [UInt8], containing text: String, line: UInt = #line) throws {
        let url = try write(bytes)
        XCTAssertThrowsError(try ParquetFixtures.readAll(url), line: line) { error in
            XCTAssertTrue(error is ParquetError, "untyped error \(error)", line: line)
            XCTAssertTrue("\(error)".contains(text), "'\(error)' should mention '\(text)'", line: line)
        }
    }

    private var fixture: [UInt8] {
        get throws { Array(try Data(contentsOf: ParquetFixtures.url("generic_snappy_dict_v1"))) }
    }

    func testMissingFileAndTinyFiles() throws {
        XCTAssertThrowsError(try ParquetReader(url: scratch.appendingPathComponent("absent.parquet"))) { error in
            XCTAssertTrue("\(error)".contains("absent.parquet"), "\(error)")
        }
        try expectError([], containing: "at least 12")
        try expectError(Array("PAR1PAR1".utf8), containing: "at least 12")
    }

    func testWrongMagicAndEncryptedFooter() throws {
        var bytes = try fixture
        bytes[0] = UInt8(ascii: "X")
        try expectError(bytes, containing: "PAR1")
        bytes = try fixture
        bytes.replaceSubrange((bytes.count - 4)..., with: Array("PARE".utf8))
        try expectError(bytes, containing: "encrypted")
    }

    func testFooterLengthBeyondTheFile() throws {
        var bytes = try fixture
        let at = bytes.count - 8
        bytes.replaceSubrange(at..<(at + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        try expectError(bytes, containing: "footer claims")
    }

    func testHugeVarintsInTheFooter() throws {
        // Overwrite the start of the footer (the schema list) with an endless varint.
        var bytes = try fixture
        let footerLength = Int(bytes[bytes.count - 8]) | Int(bytes[bytes.count - 7]) << 8 | Int(bytes[bytes.count - 6]) << 16
        let start = bytes.count - 8 - footerLength
        for i in 0..<16 { bytes[start + 2 + i] = 0xFF }
        try expectError(bytes, containing: "footer")
    }

    func testUnsupportedCodecIsNamed() throws {
        let url = ParquetFixtures.directory.appendingPathComponent("unsupported_gzip.parquet")
        XCTAssertThrowsError(try ParquetFixtures.readAll(url)) { error in
            XCTAssertTrue("\(error)".contains("GZIP"), "\(error)")
            if case .unsupported = error as? ParquetError {} else { XCTFail("expected .unsupported, got \(error)") }
        }
    }

    func testChunkOffsetOutsideTheFile() throws {
        // Point the first data page of the first column somewhere past the footer: found via pyarrow's
        // file, patched in the Thrift footer by rewriting the reader's own decoded offsets is not possible,
        // so instead truncate the data area: the footer stays valid but the chunks now overlap it.
        let bytes = try fixture
        let footerLength = Int(bytes[bytes.count - 8]) | Int(bytes[bytes.count - 7]) << 8 | Int(bytes[bytes.count - 6]) << 16
        let footer = Array(bytes[(bytes.count - 8 - footerLength)...])
        try expectError(Array("PAR1".utf8) + Array(bytes[4..<200]) + footer, containing: "outside")
    }
}

/// The footer's Thrift decoder skips fields it does not know, of every compact-protocol type
/// (including maps and sets, which pyarrow's footers do not contain), and refuses hostile counts
/// and nesting. Extra fields are spliced into a real pyarrow footer before its final STOP byte;
/// their bytes follow the Thrift compact protocol specification.
final class ParquetThriftTests: XCTestCase {
    /// The fixture with `extra` inserted at the end of the FileMetaData struct.
    private func fileWithExtraFooterFields(_ extra: [UInt8]) throws -> URL {
        var bytes = Array(try Data(contentsOf: ParquetFixtures.url("generic_none_plain_v1")))
        let footerLength = Int(bytes[bytes.count - 8]) | Int(bytes[bytes.count - 7]) << 8 | Int(bytes[bytes.count - 6]) << 16
        let stop = bytes.count - 9  // the FileMetaData STOP byte, just before length and magic
        XCTAssertEqual(bytes[stop], 0)
        bytes.insert(contentsOf: extra, at: stop)
        let length = UInt32(footerLength + extra.count).littleEndian
        bytes.replaceSubrange((bytes.count - 8)..<(bytes.count - 4), with: withUnsafeBytes(of: length, Array.init))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-thrift-\(UUID().uuidString).parquet")
        try Data(bytes).write(to: url)
        return url
    }

    func testSkipsUnknownFieldsOfEveryType() throws {
        // Field headers in long form (type nibble, then the zigzag field id) so the ids do not depend
        // on the last field pyarrow wrote.
        let extra: [UInt8] = [
            0x05, 0xC8, 0x01, 0x06,                    // field 100, i32 = 3
            0x08, 0xCA, 0x01, 0x03, 0x61, 0x62, 0x63,  // field 101, binary "abc"
            0x01, 0xCC, 0x01,                          // field 102, bool true
            0x07, 0xCE, 0x01, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,  // field 103, double 1.0
            0x09, 0xD0, 0x01, 0x35, 0x02, 0x04, 0x06,  // field 104, list<i32> of 3
            0x0A, 0xD2, 0x01, 0x22, 0x01, 0x02,        // field 105, set<bool> of 2
            0x0B, 0xD4, 0x01, 0x02, 0x85, 0x01, 0x61, 0x02, 0x01, 0x62, 0x04,  // field 106, map<binary,i32> of 2
            0x0C, 0xD6, 0x01, 0x15, 0x02, 0x1C, 0x00, 0x00,  // field 107, struct { 1: i32, 2: struct {} }
            0x0B, 0xD8, 0x01, 0x00,                    // field 108, empty map
            0x03, 0xDA, 0x01, 0x7F,                    // field 109, byte
            0x06, 0xDC, 0x01, 0x0E,                    // field 110, i64 = 7
        ]
        let url = try fileWithExtraFooterFields(extra)
        defer { try? FileManager.default.removeItem(at: url) }
        let plain = try ParquetFixtures.readAll(ParquetFixtures.url("generic_none_plain_v1"))
        XCTAssertEqual(try ParquetFixtures.readAll(url), plain)
    }

    func testHostileListCountsAndDepthAreRefused() throws {
        let huge: [UInt8] = [0x09, 0xC8, 0x01, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]  // list claiming 2^32-1 i32s
        let deep: [UInt8] = [0x0C, 0xC8, 0x01] + [UInt8](repeating: 0x1C, count: 200)  // structs nested 200 deep
        let badType: [UInt8] = [0x0E, 0xC8, 0x01]                                      // type nibble 14 does not exist
        for extra in [huge, deep, badType] {
            let url = try fileWithExtraFooterFields(extra)
            defer { try? FileManager.default.removeItem(at: url) }
            XCTAssertThrowsError(try ParquetReader(url: url)) { error in
                guard case .corrupt(_, let context, _)? = error as? ParquetError else { return XCTFail("\(error)") }
                XCTAssertEqual(context, "footer")
            }
        }
    }
}
