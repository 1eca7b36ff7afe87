import Foundation
import XCTest
import MiniMindFormats

/// Every fixture written by pyarrow (each codec × dictionary or not × data page v1/v2, several row
/// groups and pages, nulls, lists with empty and null entries, Chinese text) read row by row and
/// compared exactly with the rows pyarrow's reader returned for the same file.
final class ParquetFixtureTests: XCTestCase {
    func testFixtureSetIsComplete() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: ParquetFixtures.directory.path)
            .filter { $0.hasSuffix(".parquet") }.map { String($0.dropLast(8)) }
        XCTAssertEqual(Set(files), Set(ParquetFixtures.all + ["unsupported_gzip"]), "fixtures on disk vs the list the tests check")
    }

    func testEveryFixtureMatchesPyarrow() throws {
        for name in ParquetFixtures.all {
            try checkFixture(name)
        }
    }

    func testCoverageClaimsOfTheFixtures() throws {
        // The manifest records what pyarrow's metadata says each file uses; make sure the set covers the matrix.
        var codecs = Set<String>(), encodings = Set<String>()
        for name in ParquetFixtures.all {
            let manifest = try ParquetFixtures.manifest(name)
            codecs.formUnion(manifest.codecs)
            encodings.formUnion(manifest.encodings)
            if name != "minimind_v_text_only" && !name.hasPrefix("all_null") {
                XCTAssertGreaterThan(manifest.numRowGroups, 1, "\(name) should have several row groups")
            }
        }
        XCTAssertEqual(codecs, ["UNCOMPRESSED", "SNAPPY", "ZSTD"])
        XCTAssertTrue(encodings.isSuperset(of: ["PLAIN", "RLE", "RLE_DICTIONARY", "PLAIN_DICTIONARY"]), "\(encodings)")
    }

    private func checkFixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let manifest = try ParquetFixtures.manifest(name)
        let reader = try ParquetReader(url: ParquetFixtures.url(name))
        XCTAssertEqual(reader.rowCount, manifest.numRows, name)
        XCTAssertEqual(reader.rowGroupCount, manifest.numRowGroups, name)
        XCTAssertEqual(reader.columnNames, manifest.columns.map(\.name), name)
        let rows = try reader.rows()
        var index = 0
        while let row = try rows.next() {
            guard index < manifest.rows.count else { XCTFail("\(name): more rows than pyarrow read"); return }
            for (column, type) in manifest.columns {
                let expected = try ParquetFixtures.expectedValue(manifest.rows[index][column], type: type)
                let found = try row.value(column)
                if !parquetValuesIdentical(found, expected) {
                    XCTFail("\(name) row \(index) column \(column): found \(found), pyarrow read \(expected)", file: file, line: line)
                    return
                }
            }
            index += 1
        }
        XCTAssertEqual(index, manifest.numRows, "\(name): rows read")
    }

    func testColumnSubsetAndTypedAccessors() throws {
        let name = "generic_zstd_dict_v2"
        let manifest = try ParquetFixtures.manifest(name)
        let reader = try ParquetReader(url: ParquetFixtures.url(name))
        let rows = try reader.rows(columns: ["image_bytes", "conversations", "f32", "i32", "flag"])
        XCTAssertEqual(rows.columnNames, ["image_bytes", "conversations", "f32", "i32", "flag"])
        var index = 0
        var sawNullList = false, sawEmptyList = false, sawNullElement = false, sawChinese = false
        while let row = try rows.next() {
            let expected = manifest.rows[index]
            let text = try row.string("conversations")
            XCTAssertEqual(text, expected["conversations"] as? String)
            if text?.contains("你好") == true { sawChinese = true }
            let images = try row.binaryList("image_bytes")
            if let list = expected["image_bytes"] as? [Any] {
                let decoded = list.map { ($0 as? String).flatMap { Data(base64Encoded: $0) }.map { Array($0) } }
                XCTAssertEqual(images?.count, decoded.count)
                for (a, b) in zip(images ?? [], decoded) { XCTAssertEqual(a, b) }
                if decoded.isEmpty { sawEmptyList = true }
                if decoded.contains(where: { $0 == nil }) { sawNullElement = true }
            } else {
                XCTAssertNil(images)
                sawNullList = true
            }
            XCTAssertEqual(try row.double("f32").map { Float($0) }, try row.float("f32"))
            XCTAssertEqual(try row.int64("i32"), try row.int32("i32").map(Int64.init))
            if text != nil { XCTAssertThrowsError(try row.int32("conversations")) }
            XCTAssertThrowsError(try row.value("missing"))
            index += 1
        }
        XCTAssertEqual(index, manifest.numRows)
        XCTAssertTrue(sawNullList && sawEmptyList && sawNullElement && sawChinese, "fixture lacks a case it should cover")
    }

    func testInMemoryReaderMatchesTheFile() throws {
        let url = ParquetFixtures.url("minimind_v_multi")
        let fromFile = try ParquetReader(url: url).rows()
        let fromMemory = try ParquetReader(data: try Data(contentsOf: url), name: "multi").rows()
        var count = 0
        while let a = try fromFile.next() {
            let b = try XCTUnwrap(try fromMemory.next())
            XCTAssertEqual(a.values, b.values)
            count += 1
        }
        XCTAssertNil(try fromMemory.next())
        XCTAssertGreaterThan(count, 0)
    }

    func testRowGroupSelectionAndSchema() throws {
        let reader = try ParquetReader(url: ParquetFixtures.url("generic_snappy_plain_v1"))
        XCTAssertEqual(reader.rowGroupRowCounts.reduce(0, +), reader.rowCount)
        let last = reader.rowGroupCount - 1
        let rows = try reader.rows(columns: ["id"], rowGroups: last..<(last + 1))
        var count = 0
        while try rows.next() != nil { count += 1 }
        XCTAssertEqual(count, reader.rowGroupRowCounts[last])

        let id = try XCTUnwrap(reader.schema.column(named: "id"))
        XCTAssertEqual(id.shape, .scalar)
        XCTAssertFalse(id.isNullable)
        let images = try XCTUnwrap(reader.schema.column(named: "image_bytes"))
        XCTAssertEqual(images.shape, .list)
        XCTAssertEqual(images.physicalType, .byteArray)
        XCTAssertTrue(try XCTUnwrap(reader.schema.column(named: "conversations")).isString)
        XCTAssertThrowsError(try reader.rows(columns: ["nope"])) { error in
            XCTAssertTrue("\(error)".contains("nope"), "\(error)")
        }
    }
}
