import Foundation
import XCTest
import TestSupport
@testable import MiniMindV

/// A seeded random-mutation fuzzer for file inputs. Every run applies the same mutations (SplitMix64
/// from a fixed seed), so a failure names a reproducible trial. Mutations stack 1–3 of: byte flips,
/// truncation, deleted or duplicated ranges, inserted odd bytes (NUL, 0xFF, CR), and JSON-aware
/// edits that work on text and on binary files with JSON headers (safetensors): a number replaced by
/// a hostile one (0, −1, 2^31, 2^62, Int64.max, 1e308, …), a string by a hostile one (empty, huge,
/// `../`, lone surrogate), a value by another type. The body must finish or throw a typed error of
/// this SDK (`isTypedInputError`); a crash ends the test process, which CI reports.
struct InputFuzzer {
    struct Outcome { var runs = 0, accepted = 0, refused = 0, seconds = 0.0 }

    static let hostileNumbers = ["0", "-1", "1", "2", "-3", "2147483648", "1099511627776", "4611686018427387904",
                                 "9223372036854775807", "-9223372036854775808", "99999999999999999999999", "1e308",
                                 "-1e308", "1e-320", "0.0", "-0.0", "3.5", "1e400"]
    static let hostileStrings = ["", "../../../../etc/passwd", "/etc/shadow", String(repeating: "a", count: 70_000),
                                 "\\u0000", "\\ud800", "<image>", String(repeating: "<image>", count: 40), "\\\"", "é\\n\\r\\t"]
    static let otherValues = ["null", "[]", "{}", "true", "[[[[[[[[]]]]]]]]", "\"\"", "{\"a\":1}"]

    /// Which mutations are on: `numbers` off keeps the digits of number literals (see the target's
    /// comment for why).
    var hostileNumbers = true
    var rng: SplitMix64

    init(seed: UInt64, hostileNumbers: Bool = true) {
        rng = SplitMix64(state: seed)
        self.hostileNumbers = hostileNumbers
    }

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.below(3)) { bytes = mutateOnce(bytes) }
        return bytes
    }

    private mutating func mutateOnce(_ input: [UInt8]) -> [UInt8] {
        var b = input
        guard !b.isEmpty else { return [UInt8(truncatingIfNeeded: rng.next())] }
        switch rng.below(hostileNumbers ? 9 : 8) {
        case 0:
            for _ in 0..<(1 + rng.below(8)) { b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
        case 1:
            b.removeSubrange(rng.below(b.count)...)
        case 2:
            let start = rng.below(b.count)
            b.removeSubrange(start..<min(b.count, start + 1 + rng.below(64)))
        case 3:
            let start = rng.below(b.count), end = min(b.count, start + 1 + rng.below(256))
            b.insert(contentsOf: b[start..<end], at: rng.below(b.count))
        case 4:
            let odd: [[UInt8]] = [[0], [0xFF], [0x0D], [0x0D, 0x0A], [0xC3], [0xED, 0xA0, 0x80], [0x22], [0x5C]]
            b.insert(contentsOf: odd[rng.below(odd.count)], at: rng.below(b.count + 1))
        case 5:
            replaceToken(&b, strings: true, with: Self.hostileStrings)
        case 6, 7:
            replaceToken(&b, strings: rng.below(2) == 0, with: Self.otherValues, wholeString: true)
        default:
            replaceToken(&b, strings: false, with: Self.hostileNumbers)
        }
        return b
    }

    /// Replaces a random JSON number (or string contents / whole string) literal, found by scanning
    /// from a random offset; leaves the bytes alone when there is none.
    private mutating func replaceToken(_ b: inout [UInt8], strings: Bool, with choices: [String], wholeString: Bool = false) {
        let start = rng.below(b.count)
        let replacement = Array(choices[rng.below(choices.count)].utf8)
        if strings {
            guard let open = b[start...].firstIndex(of: 0x22) ?? b[..<start].firstIndex(of: 0x22) else { return }
            var close = open + 1
            while close < b.count && b[close] != 0x22 { close += b[close] == 0x5C ? 2 : 1 }
            guard close < b.count else { return }
            if wholeString { b.replaceSubrange(open...close, with: replacement) }
            else { b.replaceSubrange((open + 1)..<close, with: replacement) }
        } else {
            func isNumberStart(_ i: Int) -> Bool {
                let c = b[i]
                let before = i > 0 ? b[i - 1] : 0x20
                return (c >= 0x30 && c <= 0x39 || c == 0x2D) && [0x3A, 0x5B, 0x2C, 0x20, 0x0A].contains(before)
            }
            guard let first = (start..<b.count).first(where: isNumberStart) ?? (0..<start).first(where: isNumberStart) else { return }
            var end = first + 1
            while end < b.count && "0123456789.eE+-".utf8.contains(b[end]) { end += 1 }
            b.replaceSubrange(first..<end, with: replacement)
        }
    }
}

/// The errors a file input may end in: the SDK's own typed errors, which name the file or row and
/// say what was expected. (DecodingError: Codable configs report the key path and the expected type.)
func isTypedInputError(_ error: Error) -> Bool {
    switch error {
    case is ModelError, is ImageError, is TokenizerError, is ChatTemplateError, is TrainingDataError, is TrainingError,
         is ParquetError, is MiniMindParquetRowError, is CheckpointError, is StateDictError, is OptimizerStateError,
         is WeightLoadingError, is ModuleError, is GenerationError, is InputRangeError, is DecodingError:
        return true
    default:
        return false
    }
}

extension XCTestCase {
    /// Runs `body` on the seeds and then on `iterations` mutations (stopping early after `budget`
    /// seconds, so CI stays bounded on a loaded machine). Fails on an untyped error; prints a line
    /// with counts and time for Docs/Reliability.md. `MINIMIND_FUZZ_SECONDS=N` runs every target for
    /// N seconds instead (longer runs continue the same seeded sequence).
    @discardableResult
    func fuzz(_ name: String, seeds: [[UInt8]], iterations: Int, budget: TimeInterval = 4, seed: UInt64 = 0xF0_22,
              hostileNumbers: Bool = true, file: StaticString = #filePath, line: UInt = #line,
              _ body: ([UInt8]) throws -> Void) -> InputFuzzer.Outcome {
        let longRun = ProcessInfo.processInfo.environment["MINIMIND_FUZZ_SECONDS"].flatMap(Double.init)
        let budget = longRun ?? budget, iterations = longRun == nil ? iterations : Int.max
        var fuzzer = InputFuzzer(seed: seed, hostileNumbers: hostileNumbers)
        var outcome = InputFuzzer.Outcome()
        let started = Date()
        for s in seeds {
            do { try body(s) } catch { XCTFail("\(name): a seed input fails: \(error)", file: file, line: line) }
        }
        for trial in 0..<iterations {
            if Date().timeIntervalSince(started) > budget { break }
            let input = fuzzer.mutate(seeds[trial % seeds.count])
            outcome.runs += 1
            do {
                try body(input)
                outcome.accepted += 1
            } catch where isTypedInputError(error) {
                outcome.refused += 1
            } catch {
                XCTFail("\(name) trial \(trial): untyped error \(type(of: error)): \(error)", file: file, line: line)
            }
        }
        outcome.seconds = Date().timeIntervalSince(started)
        print(String(format: "fuzz %@: %d mutated inputs, %d accepted, %d refused with typed errors, %.2f s",
                     name, outcome.runs, outcome.accepted, outcome.refused, outcome.seconds))
        return outcome
    }
}
