import Foundation
import XCTest
@testable import MiniMindV

/// The pieces of the overlapped gradient allreduce that run without MPI: the backward pass's
/// gradient-ready hook and `OverlappedGradientAverager`'s buckets over a stand-in engine. The MPI
/// runs (overlapped against blocking, bit for bit) are in DistributedTrainingTests.
final class GradientOverlapTests: XCTestCase {
    /// The hook reports every trained tensor once, when its gradient already has its final bits,
    /// the last layers before the first ones; and the gradients are those of a plain backward pass.
    func testGradientReadyReportsEachTensorOnceWithItsFinalGradient() throws {
        let (model, samples, _) = try TrainingRegularisationTests.tinyModel()
        model.train()
        let named = model.namedParameters(trainableOnly: true)
        let batch = TrainingBatch(Array(samples.prefix(4)))

        var reported: [(ObjectIdentifier, [Float]?)] = []
        try model.loss(batch, features: nil).backward(gradientReady: { reported.append((ObjectIdentifier($0), $0.grad?.toArray())) })
        let hooked = named.map { $0.1.grad?.toArray() }
        for (_, p) in named { p.grad = nil }
        try model.loss(batch, features: nil).backward()
        let plain = named.map { $0.1.grad?.toArray() }
        for (_, p) in named { p.grad = nil }

        XCTAssertEqual(hooked, plain, "the hook must not change the gradients")
        XCTAssertEqual(Set(reported.map(\.0)).count, reported.count, "a tensor reported twice")
        let position = Dictionary(uniqueKeysWithValues: reported.enumerated().map { ($0.element.0, $0.offset) })
        for ((name, p), final) in zip(named, plain) where final != nil {
            let at = try XCTUnwrap(position[ObjectIdentifier(p)], "\(name) not reported")
            XCTAssertEqual(reported[at].1, final, "\(name) changed after it was reported")
        }
        let layers = named.compactMap { name, p in name.contains(".layers.") ? (name, position[ObjectIdentifier(p)]) : nil }
        let first = try XCTUnwrap(layers.filter { $0.0.contains(".layers.0.") }.compactMap(\.1).min())
        let lastLayer = try XCTUnwrap(layers.map { $0.0 }.compactMap { Int($0.components(separatedBy: ".layers.")[1].prefix { $0.isNumber }) }.max())
        let last = try XCTUnwrap(layers.filter { $0.0.contains(".layers.\(lastLayer).") }.compactMap(\.1).max())
        XCTAssertGreaterThan(lastLayer, 0)
        XCTAssertLessThan(last, first, "the last layer's gradients must be final before the first layer's")
    }

    /// Over a stand-in for two identical ranks (every sum doubles), small buckets start during the
    /// backward pass, strictly in order, and the averaged gradients are the rank's own, bit for bit
    /// (x + x halved), as the blocking `DataParallel.averageGradients` leaves them; a tensor without a
    /// gradient stays without one. Run for two steps: the second uses the buckets rebuilt in the
    /// order the first step observed, and only then do buckets start during the pass.
    func testSmallBucketsStartDuringTheBackwardPassAndAverageLikeTheBlockingPath() throws {
        let (model, samples, _) = try TrainingRegularisationTests.tinyModel()
        model.train()
        let params = model.parameters(trainableOnly: true)
        let idle = Tensor.zeros([3], requiresGrad: true)  // never in the graph: stays nil
        let batch = TrainingBatch(Array(samples.prefix(4)))
        let engine = TwinRanks()
        let averager = OverlappedGradientAverager(parameters: params + [idle], bucketBytes: 4096, over: engine)
        for step in 0..<2 {
            let startedBefore = engine.started, pollsBefore = engine.polls
            var failure: Error?
            try model.loss(batch, features: nil).backward(gradientReady: { t in
                do { try averager.gradientReady(t) } catch { failure = error }
            })
            XCTAssertNil(failure)
            let own = params.map { $0.grad!.toArray() }
            let startedDuringBackward = engine.started - startedBefore
            var extra = [1.5, 7]
            try averager.finish(extra: &extra)
            XCTAssertEqual(extra, [3, 14], "step \(step)")
            XCTAssertEqual(params.map { $0.grad!.toArray() }, own, "step \(step)")
            XCTAssertNil(idle.grad)
            if step == 0 {
                // Reverse parameter order: the projector (registered last, finished last) is in the
                // first bucket, so nothing starts before the end of the pass.
                XCTAssertEqual(startedDuringBackward, 0)
            } else {
                XCTAssertGreaterThan(startedDuringBackward, 1, "no bucket started during the backward pass in the rebuilt order")
                XCTAssertGreaterThan(engine.polls, pollsBefore)
            }

            // The blocking path on the same gradients.
            for p in params { p.grad = Tensor(shape: p.shape, data: own[params.firstIndex { $0 === p }!]) }
            var blockingExtra = [1.5, 7.0]
            try DataParallel.averageGradients(params + [idle], extra: &blockingExtra, over: engine)
            XCTAssertEqual(params.map { $0.grad!.toArray() }, own)
            XCTAssertEqual(blockingExtra, [3, 14])
            for p in params { p.grad = nil }
        }
    }
}

/// Two ranks holding the same numbers, in one process: a sum doubles the buffer. Non-blocking
/// requests complete on their second test (or on wait), so the averager must poll them.
final class TwinRanks: Communicator {
    var rank: Int { 0 }
    var size: Int { 2 }
    private var pending: [Int: (buffer: UnsafeMutableBufferPointer<Float>, tests: Int)] = [:]
    private(set) var started = 0
    private(set) var polls = 0

    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws { for i in buffer.indices { buffer[i] *= 2 } }
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws { for i in buffer.indices { buffer[i] *= 2 } }
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> AllreduceRequest {
        started += 1
        pending[started] = (buffer, 0)
        return AllreduceRequest(id: started)
    }
    func test(_ request: AllreduceRequest) throws -> Bool {
        polls += 1
        guard let entry = pending[request.id] else { return true }
        if entry.tests == 0 { pending[request.id]!.tests = 1; return false }
        try wait(request)
        return true
    }
    func wait(_ request: AllreduceRequest) throws {
        guard let entry = pending.removeValue(forKey: request.id) else { return }
        try allreduceSum(entry.buffer)
    }
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    func barrier() throws {}
    func abort(code: Int32) -> Never { exit(code) }
}
