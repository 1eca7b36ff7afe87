import XCTest
@testable import MiniMindTensor

final class NNStateDictTests: XCTestCase {
    private func makeModel() -> Module {
        let root = Module()
        let body = root.register(child: "body", Module())
        body.register(child: "fc", Linear(3, 2))
        body.register(child: "norm", LayerNorm(2))
        root.register(buffer: "running", .zeros([2]))
        return root
    }

    func testLoadCopiesIntoExistingTensors() throws {
        let m = makeModel()
        let weight = try XCTUnwrap(m.stateDict().first { $0.0 == "body.fc.weight" }?.1)
        var values: [String: Tensor] = [:]
        for (i, (key, t)) in m.stateDict().enumerated() {
            values[key] = Tensor(shape: t.shape, data: (0..<t.count).map { Float(i * 10 + $0) })
        }
        let report = try m.loadStateDict(values)
        XCTAssertEqual(report, StateDictLoadReport(missing: [], unexpected: []))
        XCTAssertTrue(m.stateDict().first { $0.0 == "body.fc.weight" }?.1 === weight, "tensor identity is kept")
        for (key, t) in m.stateDict() { XCTAssertEqual(t.toArray(), values[key]?.toArray(), key) }
        XCTAssertTrue(weight.requiresGrad, "loading keeps trainability")
        values["body.fc.weight"]?.mutablePointer[0] = 99
        XCTAssertNotEqual(weight.pointer[0], 99, "values are copied, not shared")
    }

    func testStrictLoadReportsAllProblemsTogether() {
        let m = makeModel()
        let before = m.stateDict().map { $0.1.toArray() }
        let tensors: [String: Tensor] = [
            "body.fc.weight": .ones([3, 2]),       // transposed shape
            "body.fc.bias": .ones([2]),
            "body.norm.weight": .ones([2]),
            // body.norm.bias and running are missing
            "body.fc.extra": .ones([1]),           // unexpected
            "head.weight": .ones([2, 2]),          // unexpected
        ]
        XCTAssertThrowsError(try m.loadStateDict(tensors)) { error in
            guard let e = error as? StateDictError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.missing, ["running", "body.norm.bias"])
            XCTAssertEqual(e.unexpected, ["body.fc.extra", "head.weight"])
            XCTAssertEqual(e.mismatched, [StateDictShapeMismatch(key: "body.fc.weight", expected: [2, 3], found: [3, 2])])
            let text = "\(e)"
            for needle in ["2 missing keys", "running", "body.norm.bias", "2 unexpected keys", "head.weight",
                           "body.fc.weight: model has [2, 3], checkpoint has [3, 2]", "nothing was loaded"] {
                XCTAssertTrue(text.contains(needle), "message lacks '\(needle)':\n\(text)")
            }
        }
        XCTAssertEqual(m.stateDict().map { $0.1.toArray() }, before, "a failed load copies nothing")
    }

    func testNonStrictSkipsKeysButNotShapes() throws {
        let m = makeModel()
        let report = try m.loadStateDict(["body.fc.bias": Tensor([5, 6]), "other": .ones([1])], strict: false)
        XCTAssertEqual(report.missing, ["running", "body.fc.weight", "body.norm.weight", "body.norm.bias"])
        XCTAssertEqual(report.unexpected, ["other"])
        XCTAssertEqual(m.stateDict().first { $0.0 == "body.fc.bias" }?.1.toArray(), [5, 6])
        XCTAssertThrowsError(try m.loadStateDict(["body.fc.bias": .ones([3])], strict: false)) { error in
            XCTAssertEqual((error as? StateDictError)?.mismatched.map(\.key), ["body.fc.bias"])
        }
    }

    func testRoundTripThroughStateDict() throws {
        var g = SeededGenerator(seed: 9)
        let a = Linear(5, 3, generator: &g), b = Linear(5, 3, generator: &g)
        XCTAssertNotEqual(a.weight.toArray(), b.weight.toArray())
        try b.loadStateDict(Dictionary(uniqueKeysWithValues: a.stateDict()))
        XCTAssertEqual(a.weight.toArray(), b.weight.toArray())
        XCTAssertEqual(a.bias?.toArray(), b.bias?.toArray())
    }

    func testLongErrorListsAreTruncatedReadably() {
        let root = Module()
        for i in 0..<30 { root.register(child: "l\(i)", RMSNorm(1)) }
        XCTAssertThrowsError(try root.loadStateDict([:])) { error in
            XCTAssertEqual((error as? StateDictError)?.missing.count, 30)
            XCTAssertTrue("\(error)".contains("… and 10 more"))
        }
    }
}
