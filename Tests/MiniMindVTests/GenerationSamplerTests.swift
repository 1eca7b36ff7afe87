import XCTest
@testable import MiniMindV

/// Each sampling step on small logits whose expected results were worked out by hand (comments),
/// following Docs/Model.md, "Generation" and upstream minimind's `generate`.
final class GenerationSamplerTests: XCTestCase {
    func apply(_ logits: [Float], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        var copy = logits
        copy.withUnsafeMutableBufferPointer { body($0) }
        return copy
    }

    func testRepetitionPenaltyDividesPositiveAndMultipliesNegative() {
        // Seen ids 0 and 1, penalty 2: 2.0 → 2.0/2 = 1.0; -1.0 → -1.0·2 = -2.0; ids 2, 3 untouched.
        let out = apply([2.0, -1.0, 0.5, 3.0]) { Sampler.applyRepetitionPenalty($0, ids: [0, 1], penalty: 2) }
        XCTAssertEqual(out, [1.0, -2.0, 0.5, 3.0])
        // Penalty 1 is off.
        XCTAssertEqual(apply([2.0, -1.0]) { Sampler.applyRepetitionPenalty($0, ids: [0, 1], penalty: 1) }, [2.0, -1.0])
    }

    func testSamplerPenalisesEveryDistinctSeenIdOnceIncludingThePrompt() {
        // Prompt [0, 0, 2]: ids 0 and 2 seen (0 twice, penalised once). Logits [3, 2.9, 2.0], penalty 2, greedy:
        // id 0: 3/2 = 1.5; id 1: 2.9 (unseen); id 2: 2.0/2 = 1.0 → argmax is id 1.
        var s = Sampler(options: SamplingOptions(repetitionPenalty: 2, greedy: true), vocabularySize: 3)
        s.observe([0, 0, 2])
        XCTAssertEqual(s.next(logits: [3.0, 2.9, 2.0]), 1)
        // Without the penalty the argmax is id 0.
        var plain = Sampler(options: SamplingOptions(greedy: true), vocabularySize: 3)
        plain.observe([0, 0, 2])
        XCTAssertEqual(plain.next(logits: [3.0, 2.9, 2.0]), 0)
    }

    func testPenaltyComesBeforeTopK() {
        // Logits [3.0, 2.9, 1.0], id 0 seen, penalty 2, top-k 1, sampling. Upstream order: penalty first
        // gives [1.5, 2.9, 1.0], top-1 keeps only id 1, so every draw is id 1 (top-k first would keep id 0).
        var s = Sampler(options: SamplingOptions(temperature: 1, topP: 1, topK: 1, repetitionPenalty: 2, seed: 3), vocabularySize: 3)
        s.observe([0])
        for _ in 0..<20 { XCTAssertEqual(s.next(logits: [3.0, 2.9, 1.0]), 1) }
    }

    func testTopKKeepsTheKLargestAndTiesWithTheKth() {
        let inf = -Float.infinity
        // Sorted values 5, 5, 3, 2, 1. k = 2: the 2nd largest is 5 → keep both 5s.
        XCTAssertEqual(apply([1, 5, 3, 5, 2]) { Sampler.applyTopK($0, 2) }, [inf, 5, inf, 5, inf])
        // k = 3: the 3rd largest is 3 → keep 5, 3, 5.
        XCTAssertEqual(apply([1, 5, 3, 5, 2]) { Sampler.applyTopK($0, 3) }, [inf, 5, 3, 5, inf])
        // k = 1 with a unique maximum.
        XCTAssertEqual(apply([0.1, -2, 0.3]) { Sampler.applyTopK($0, 1) }, [inf, inf, 0.3])
        // k = 0 (off) and k ≥ count leave everything.
        XCTAssertEqual(apply([1, 2, 3]) { Sampler.applyTopK($0, 0) }, [1, 2, 3])
        XCTAssertEqual(apply([1, 2, 3]) { Sampler.applyTopK($0, 3) }, [1, 2, 3])
    }

    func testTopPKeepsTheSmallestPrefixReachingP() {
        let inf = -Float.infinity
        // Logits are log-probabilities, so softmax returns the probabilities: id0 .15, id1 .5, id2 .05, id3 .3.
        // Sorted: id1 .5, id3 .3, id0 .15, id2 .05; mass before each: 0, .5, .8, .95.
        let logits: [Float] = [log(0.15), log(0.5), log(0.05), log(0.3)]
        // p = 0.7: id1 (always), id3 (.5 ≤ .7) stay; id0 (.8 > .7), id2 (.95) go.
        XCTAssertEqual(apply(logits) { Sampler.applyTopP($0, 0.7) }, [inf, logits[1], inf, logits[3]])
        // p = 0.85: id0 stays too (.8 ≤ .85); id2 goes (.95 > .85).
        XCTAssertEqual(apply(logits) { Sampler.applyTopP($0, 0.85) }, [logits[0], logits[1], inf, logits[3]])
        // p = 0.4: even the first exceeds it, yet the top token always stays.
        XCTAssertEqual(apply(logits) { Sampler.applyTopP($0, 0.4) }, [inf, logits[1], inf, inf])
        // p = 1: off.
        XCTAssertEqual(apply(logits) { Sampler.applyTopP($0, 1) }, logits)
    }

    func testTopPSeesOnlyWhatTopKLeft() {
        // Logits log([.4, .3, .2, .1]); top-k 2 leaves ids 0, 1 whose renormalised probabilities are
        // .4/.7 = .571 and .3/.7 = .429. With p = 0.5: id0 stays, id1 has .571 before it (> .5) → goes.
        // (Without top-k, id1 would stay: .4 ≤ .5.)
        let logits: [Float] = [log(0.4), log(0.3), log(0.2), log(0.1)]
        var s = Sampler(options: SamplingOptions(temperature: 1, topP: 0.5, topK: 2, seed: 1), vocabularySize: 4)
        for _ in 0..<20 { XCTAssertEqual(s.next(logits: logits), 0) }
        XCTAssertEqual(apply(logits) { Sampler.applyTopP($0, 0.5) }[1], logits[1])
    }

    func testTemperatureDividesLogits() {
        // 0.7 is not exact in binary: expectations are the float divisions themselves (upstream `logits / t`).
        XCTAssertEqual(apply([1.4, -0.7, 0]) { Sampler.applyTemperature($0, 0.7) }, [Float(1.4) / 0.7, Float(-0.7) / 0.7, 0])
        XCTAssertEqual(apply([2, -4]) { Sampler.applyTemperature($0, 2) }, [1, -2])
    }

    func testGreedyIsArgmaxWithFirstIndexOnTies() {
        var s = Sampler(options: .greedy(), vocabularySize: 4)
        XCTAssertEqual(s.next(logits: [0.1, 0.9, 0.9, -1]), 1)
        // Temperature 0 is greedy too.
        var t0 = Sampler(options: SamplingOptions(temperature: 0), vocabularySize: 3)
        XCTAssertEqual(t0.next(logits: [0, 0, 5]), 2)
    }

    func testSeededDrawsAreReproducibleAndFollowTheProbabilities() {
        // Logits log([.5, .3, .2]) at temperature 1 with filters off: frequencies ≈ .5, .3, .2.
        let logits: [Float] = [log(0.5), log(0.3), log(0.2)]
        let options = SamplingOptions(temperature: 1, topP: 1, topK: 0, seed: 42)
        func draws(_ o: SamplingOptions) -> [Int] {
            var s = Sampler(options: o, vocabularySize: 3)
            return (0..<20000).map { _ in s.next(logits: logits) }
        }
        let a = draws(options), b = draws(options)
        XCTAssertEqual(a, b, "same seed, same draws")
        var other = options
        other.seed = 43
        XCTAssertNotEqual(Array(draws(other).prefix(100)), Array(a.prefix(100)), "another seed, other draws")
        for (id, p) in [0.5, 0.3, 0.2].enumerated() {
            let freq = Double(a.filter { $0 == id }.count) / Double(a.count)
            XCTAssertEqual(freq, p, accuracy: 0.015, "frequency of id \(id)")
        }
    }

    func testOptionsValidation() {
        XCTAssertThrowsError(try SamplingOptions(topP: 0).validate())
        XCTAssertThrowsError(try SamplingOptions(topK: -1).validate())
        XCTAssertThrowsError(try SamplingOptions(repetitionPenalty: 0).validate())
        XCTAssertThrowsError(try SamplingOptions(stopStrings: [""]).validate())
        XCTAssertNoThrow(try SamplingOptions().validate())
    }

    func testStopStringMatcherHoldsBackPossibleStarts() {
        var m = StopStringMatcher(["</s>", "END"])
        XCTAssertEqual(m.feed("hello <"), "hello ")   // "<" may start "</s>"
        XCTAssertEqual(m.feed("b>"), "<b>")          // it did not
        XCTAssertEqual(m.feed(" E"), " ")
        XCTAssertEqual(m.feed("NDx"), "")              // "END" found: nothing after it
        XCTAssertTrue(m.stopped)
        var n = StopStringMatcher(["ab"])
        XCTAssertEqual(n.feed("中a"), "中")
        XCTAssertEqual(n.finish(), "a")
    }
}
