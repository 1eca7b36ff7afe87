import Foundation
import XCTest
@testable import MiniMindV
@testable import MiniMindVServer

/// The scheduler's hand-over of a stream's first token: the next step waits until the handler has
/// written it (so the token is not queued behind a whole forward that holds both cores).
final class ServerSchedulerTests: XCTestCase {
    func testTheStepAfterAFirstTokenWaitsForItsWrite() async throws {
        let generator = try ServerTestModel.generator()
        let ids = try generator.assembler.assemble([.user("the cat sat on the mat")], images: []).ids
        let options = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])
        let expected = try generator.reference([.user("the cat sat on the mat")], maxTokens: 6, eos: []).text
        for streamed in [true, false] {
            let scheduler = Scheduler(batch: ContinuousBatch(generator: generator, capacity: 2, contextLength: 128), maxQueue: 0,
                                      metrics: ServerMetrics(), firstWriteSeconds: 600)
            scheduler.start()
            let submission = try scheduler.submit(ids: ids, images: [], options: options, streamed: streamed)
            var iterator = submission.updates.makeAsyncIterator()
            var text = ""
            while text.isEmpty, let update = await iterator.next() {  // up to the first text
                if case let .text(piece) = update { text = piece }
            }
            let stepsAtFirst = scheduler.steps, start = monotonicSeconds()
            if streamed {
                try await Task.sleep(nanoseconds: 200_000_000)
                XCTAssertEqual(scheduler.steps, stepsAtFirst, "no step before the first token is written")
                submission.firstTokenWritten()
            }
            while let update = await iterator.next() {
                switch update {
                case let .text(piece): text += piece
                case let .finished(result): XCTAssertEqual(result.ids.count, 6)
                case let .failed(message): XCTFail(message)
                }
            }
            XCTAssertEqual(text, expected, "streamed \(streamed)")
            // Not held for the 600 s bound: a written first token (or a request that is not streamed) frees the next step.
            XCTAssertLessThan(monotonicSeconds() - start, 60, "streamed \(streamed)")
            scheduler.shutdown()
        }
    }
}
