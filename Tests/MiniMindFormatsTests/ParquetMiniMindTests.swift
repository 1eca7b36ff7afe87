import Foundation
import XCTest
import MiniMindFormats

/// The MiniMind-V dataset layout: conversations JSON + JPEG bytes made by PIL, one image per row
/// (binary column) or several (list of binary, with an empty list and a null row).
final class ParquetMiniMindTests: XCTestCase {
    func testMiniMindRowsMatchPyarrow() throws {
        for name in ParquetFixtures.miniMind {
            let manifest = try ParquetFixtures.manifest(name)
            let rows = try ParquetReader(url: ParquetFixtures.url(name)).miniMindRows()
            var index = 0
            while let row = try rows.next() {
                let expected = manifest.rows[index]
                XCTAssertEqual(row.conversations, expected["conversations"] as? String, "\(name) row \(index)")
                let images: [Data]
                switch expected["image_bytes"] {
                case let single as String: images = [Data(base64Encoded: single) ?? Data()]
                case let list as [String]: images = list.compactMap { Data(base64Encoded: $0) }
                default: images = []
                }
                XCTAssertEqual(row.images, images, "\(name) row \(index)")
                // Every image is a JPEG (SOI marker), and the conversation is the JSON upstream expects.
                for image in row.images { XCTAssertEqual(Array(image.prefix(2)), [0xFF, 0xD8]) }
                let turns = try JSONSerialization.jsonObject(with: Data(row.conversations.utf8)) as? [[String: String]]
                XCTAssertEqual(turns?.first?["role"], "user")
                index += 1
            }
            XCTAssertEqual(index, manifest.numRows, name)
        }
    }

    func testNullConversationIsReportedWithItsRow() throws {
        let rows = try ParquetReader(url: ParquetFixtures.url("generic_none_plain_v1")).miniMindRows()
        XCTAssertThrowsError(try { while try rows.next() != nil {} }()) { error in
            XCTAssertTrue("\(error)".contains("'conversations' is null") && "\(error)".contains("row 5"), "\(error)")
        }
    }
}
