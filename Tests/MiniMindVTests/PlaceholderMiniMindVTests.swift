import XCTest

final class MiniMindVTestsSmoke: XCTestCase {
    func testModuleBuilds() { XCTAssertTrue(true) }
}
