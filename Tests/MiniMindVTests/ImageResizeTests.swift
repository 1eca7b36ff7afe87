import Foundation
import XCTest
@testable import MiniMindV
import MiniMindTensor

/// Pillow's `Image.resize` reproduced bit for bit (uint8) for every filter and up/down/one-axis scales.
final class ImageResizeTests: XCTestCase {
    func testResizeIsBitEqualToPillow() throws {
        let manifest = try ImageFixtures.manifest()
        XCTAssertGreaterThanOrEqual(manifest.resize.count, 30)
        var filtersSeen = Set<ResampleFilter>()
        for case_ in manifest.resize {
            let filter = try XCTUnwrap(ResampleFilter(rawValue: case_.filter), case_.filter_name)
            filtersSeen.insert(filter)
            let source = try ImageFixtures.image(case_.source)
            let out = try source.resized(width: case_.width, height: case_.height, filter: filter)
            let diff = absDiff(out.pixels, try ImageFixtures.bytes(case_.expected))
            XCTAssertEqual(diff.max, 0, "\(case_.source) → \(case_.width)×\(case_.height) \(filter): "
                           + "max diff \(diff.max), mean \(diff.mean)")
        }
        XCTAssertEqual(filtersSeen, Set(ResampleFilter.allCases))
    }

    func testWindowEqualsResizeThenCrop() throws {
        let source = try ImageFixtures.image("sources/rgb_200x150.png")
        let full = try source.resized(width: 97, height: 61, filter: .bicubic)
        let window = PillowResampler.Window(x: 13, y: 7, width: 40, height: 33)
        let part = PillowResampler.resample(source, width: 97, height: 61, filter: .bicubic, window: window)
        var expected: [UInt8] = []
        for y in window.y..<(window.y + window.height) {
            let start = (y * 97 + window.x) * 3
            expected += full.pixels[start..<(start + window.width * 3)]
        }
        XCTAssertEqual(part, expected)
    }

    func testInvalidTargets() throws {
        let source = try ImageFixtures.image("sources/rgb_7x3.png")
        XCTAssertThrowsError(try source.resized(width: 0, height: 3))
        XCTAssertThrowsError(try source.resized(width: 100_000, height: 100_000))
        XCTAssertEqual(try source.resized(width: 7, height: 3), source)
    }
}
