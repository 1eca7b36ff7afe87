import XCTest

final class MiniMindFormatsTestsSmoke: XCTestCase {
    func testModuleBuilds() { XCTAssertTrue(true) }
}
