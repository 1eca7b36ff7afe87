import XCTest
@testable import MiniMindV

/// Hostile or sloppy data files cost the rows that are bad, named by their line or row number,
/// and never lead the trainer outside its image folder or into unbounded allocations.
final class DataReaderHostileTests: XCTestCase {
    func makeFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmv-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    static let good = #"{"conversations":[{"role":"user","content":"Hi?"},{"role":"assistant","content":"Yes."}]}"#

    func write(_ bytes: [UInt8], _ name: String = "data.jsonl", in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Row errors by index (nil for a usable row).
    func outcomes(_ dataset: ConversationDataset) -> [String?] {
        (0..<dataset.count).map { i in
            do { _ = try dataset.row(i); return nil } catch { return "\(error)" }
        }
    }

    func testCRLFLinesAreRowsLikeLF() throws {
        let dir = try makeFolder()
        let lf = try write(Array(([Self.good, Self.good, "", Self.good].joined(separator: "\n") + "\n").utf8), "lf.jsonl", in: dir)
        let crlf = try write(Array(([Self.good, Self.good, "", Self.good].joined(separator: "\r\n") + "\r\n").utf8), "crlf.jsonl", in: dir)
        let a = try JSONLConversationDataset(url: lf, imageFolder: nil), b = try JSONLConversationDataset(url: crlf, imageFolder: nil)
        XCTAssertEqual(a.count, 3)
        XCTAssertEqual(b.count, 3, "CRLF line ends split rows like LF")
        for i in 0..<3 {
            let (x, y) = (try a.row(i), try b.row(i))
            XCTAssertEqual(x.messages.map(\.content), y.messages.map(\.content))
            XCTAssertEqual(x.name.replacingOccurrences(of: "lf.jsonl", with: ""), y.name.replacingOccurrences(of: "crlf.jsonl", with: ""))
        }
        XCTAssertEqual(try b.row(2).name, "crlf.jsonl line 4", "line numbers count the blank line")
        XCTAssertEqual(try b.row(1).messages.last?.content, "Yes.", "no stray CR in the text")
    }

    func testInvalidUTF8CostsOneLineWithItsNumber() throws {
        let dir = try makeFolder()
        var bytes = Array((Self.good + "\n").utf8)
        bytes += Array(#"{"conversations":[{"role":"user","content":"bad "#.utf8) + [0xFF, 0xC3] + Array(#""}]}"#.utf8) + [0x0A]
        bytes += Array(Self.good.utf8)
        let dataset = try JSONLConversationDataset(url: try write(bytes, in: dir), imageFolder: nil)
        XCTAssertEqual(dataset.count, 3)
        let result = outcomes(dataset)
        XCTAssertNil(result[0]); XCTAssertNil(result[2])
        XCTAssertEqual(result[1], "data.jsonl line 2: not valid UTF-8")
    }

    func testOverLongLineIsRefusedBeforeParsing() throws {
        let dir = try makeFolder()
        let long = #"{"conversations":[{"role":"user","content":""# + String(repeating: "x", count: 5000) + #""}]}"#
        let url = try write(Array([Self.good, long, Self.good].joined(separator: "\n").utf8), in: dir)
        let dataset = try JSONLConversationDataset(url: url, imageFolder: nil, limits: DataLimits(maxRowTextBytes: 4096))
        let result = outcomes(dataset)
        XCTAssertNil(result[0]); XCTAssertNil(result[2])
        XCTAssertTrue(result[1]?.contains("line 2") == true && result[1]?.contains("4096-byte row limit") == true, "\(result[1] ?? "nil")")
    }

    func testImageNamesAreConfinedToTheImageFolder() throws {
        let dir = try makeFolder()
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data([1]).write(to: images.appendingPathComponent("a.png"))
        try Data([1]).write(to: dir.appendingPathComponent("secret.png"))
        try FileManager.default.createSymbolicLink(at: images.appendingPathComponent("link.png"),
                                                   withDestinationURL: dir.appendingPathComponent("secret.png"))
        func row(_ image: String) -> String {
            #"{"conversations":[{"role":"user","content":"<image>"},{"role":"assistant","content":"x"}],"image":"\#(image)"}"#
        }
        let names = ["a.png", "sub/../a.png", "../secret.png", "../../../../etc/shadow", "/etc/shadow", "sub/../../secret.png",
                     "link.png", "a.png,", "~/x.png"]
        let url = try write(Array(names.map(row).joined(separator: "\n").utf8), in: dir)
        let dataset = try JSONLConversationDataset(url: url, imageFolder: images)
        let result = outcomes(dataset)
        XCTAssertNil(result[0]); XCTAssertNil(result[1], "a '..' that stays inside is fine")
        guard case .file(let resolved)? = try dataset.row(1).images.first else { return XCTFail("no image") }
        XCTAssertEqual(resolved.lastPathComponent, "a.png")
        XCTAssertFalse(resolved.path.contains(".."))
        let expected = ["leads outside", "leads outside", "is absolute", "leads outside", "leads outside", "is empty", "is absolute"]
        for (i, why) in expected.enumerated() {
            let message = result[i + 2] ?? "accepted"
            XCTAssertTrue(message.contains("line \(i + 3)") && message.contains(why), "\(names[i + 2]): \(message)")
        }
    }

    func testNullParquetConversationCostsOneRow() throws {
        let url = UpstreamAssets.folder.deletingLastPathComponent().appendingPathComponent("parquet/generic_none_plain_v1.parquet")
        let dataset = try ParquetConversationDataset(url: url)
        XCTAssertEqual(dataset.count, 70, "every row is kept, the null one as a malformed row")
        let result = outcomes(dataset)
        XCTAssertTrue(result[5]?.contains("row 5") == true && result[5]?.contains("'conversations' is null") == true, "\(result[5] ?? "nil")")
        let nullRows = result.enumerated().filter { $0.element?.contains("is null") == true }.map(\.offset)
        // pyarrow wrote None at rows 5, 16, 27, … (Tests/Fixtures/parquet/generic_none_plain_v1.expected.json).
        XCTAssertEqual(nullRows, [5, 16, 27, 38, 49, 60], "exactly the null rows")
    }

    func testOverLongParquetConversationCostsOneRowAndIsNotKept() throws {
        let url = UpstreamAssets.folder.deletingLastPathComponent().appendingPathComponent("parquet/minimind_v_single.parquet")
        let full = try ParquetConversationDataset(url: url)
        let lengths = try (0..<full.count).map { i -> Int in
            try full.row(i).messages.reduce(0) { $0 + ($1.content?.utf8.count ?? 0) }
        }
        XCTAssertGreaterThan(full.count, 1)
        let limit = lengths.max()! + 20   // JSON syntax adds > 20 bytes: every row is over
        let tight = try ParquetConversationDataset(url: url, limits: DataLimits(maxRowTextBytes: limit / 2))
        XCTAssertEqual(tight.count, full.count)
        for i in 0..<tight.count {
            XCTAssertThrowsError(try tight.row(i)) { error in
                XCTAssertTrue("\(error)".contains("row \(i)") && "\(error)".contains("row limit"), "\(error)")
            }
        }
    }

    func testParquetPageLimitAppliesToDatasets() throws {
        let url = UpstreamAssets.folder.deletingLastPathComponent().appendingPathComponent("parquet/minimind_v_single.parquet")
        XCTAssertNoThrow(try ParquetConversationDataset(url: url))
        XCTAssertThrowsError(try ParquetConversationDataset(url: url, limits: DataLimits(maxParquetPageBytes: 16))) { error in
            XCTAssertTrue("\(error)".contains("page at byte"), "\(error)")
        }
    }

    /// A PNG header declaring 10000×10000 (100 M pixels, 300 MB of RGB) in 37 bytes: refused from
    /// the header, before any pixel allocation.
    func testHugeDeclaredImageIsRefusedFromItsHeader() throws {
        func be32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
        func png(_ w: UInt32, _ h: UInt32) -> Data {
            Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be32(13) + Array("IHDR".utf8) + be32(w) + be32(h)
                 + [8, 2, 0, 0, 0] + [0, 0, 0, 0])
        }
        XCTAssertEqual(try RGBImage.info(of: png(10000, 10000)).width, 10000, "stb reads the header")
        XCTAssertThrowsError(try RGBImage(data: png(10000, 10000))) { error in
            guard case ImageError.tooLarge(_, 10000, 10000, _, ImageDecodingLimits.pilMaxImagePixels)? = error as? ImageError else {
                return XCTFail("\(error)")
            }
        }
        XCTAssertEqual(ImageDecodingLimits.pilMaxImagePixels, 89_478_485, "PIL's Image.MAX_IMAGE_PIXELS")
    }
}
