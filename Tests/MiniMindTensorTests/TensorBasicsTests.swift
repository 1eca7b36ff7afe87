import XCTest
@testable import MiniMindTensor

final class TensorBasicsTests: XCTestCase {
    func testCreationAndAccess() {
        let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t[1, 2], 6)
        XCTAssertEqual(t.count, 6)
        XCTAssertEqual(Tensor.ones([4]).toArray(), [1, 1, 1, 1])
    }

    func testSeededGeneratorIsReproducible() {
        var g1 = SeededGenerator(seed: 42), g2 = SeededGenerator(seed: 42)
        XCTAssertEqual(Tensor.randn([10], generator: &g1).toArray(), Tensor.randn([10], generator: &g2).toArray())
    }
}
