// The one check for numbers that come from outside (CLI options, config.json, resume files): a
// value outside what the code can honour is refused where it enters, with the field, the value and
// the allowed range, before anything is allocated for it. Preconditions stay for programmer errors.
import Foundation

/// A number from outside is out of range. `field` names where it came from
/// (`--threads`, `config.json hidden_size`, `resume file optimizerSteps`).
public struct InputRangeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var field: String
    public var value: String
    public var allowed: String
    public var note: String?

    public init(field: String, value: String, allowed: String, note: String? = nil) {
        self.field = field
        self.value = value
        self.allowed = allowed
        self.note = note
    }

    public var description: String {
        "\(field) = \(value) is out of range (allowed: \(allowed))" + (note.map { "; \($0)" } ?? "")
    }
}

public enum InputRange {
    /// `value` must lie in `range`.
    public static func check(_ field: String, _ value: Int, in range: ClosedRange<Int>, note: String? = nil) throws {
        guard range.contains(value) else {
            throw InputRangeError(field: field, value: "\(value)", allowed: describe(range), note: note)
        }
    }

    /// `value` must be a number (not NaN) in `range`; ±infinity only when the range includes it.
    public static func check(_ field: String, _ value: Double, in range: ClosedRange<Double>, note: String? = nil) throws {
        guard !value.isNaN, range.contains(value) else {
            throw InputRangeError(field: field, value: "\(value)", allowed: describe(range), note: note)
        }
    }

    /// `value` must be finite and > `lowerExclusive` and ≤ `upper`.
    public static func check(_ field: String, _ value: Double, above lowerExclusive: Double, upTo upper: Double, note: String? = nil) throws {
        guard value.isFinite, value > lowerExclusive, value <= upper else {
            throw InputRangeError(field: field, value: "\(value)", allowed: "\(lowerExclusive) < x ≤ \(upper)", note: note)
        }
    }

    /// The product of sizes, or an error naming `field` when it overflows or exceeds `limit`.
    public static func product(_ field: String, _ factors: [Int], limit: Int, note: String? = nil) throws -> Int {
        var total = 1
        for f in factors {
            let (p, overflow) = total.multipliedReportingOverflow(by: max(f, 0))
            guard !overflow, p <= limit else {
                throw InputRangeError(field: field, value: factors.map(String.init).joined(separator: " × "),
                                      allowed: "a product ≤ \(limit)", note: note)
            }
            total = p
        }
        return total
    }

    static func describe(_ r: ClosedRange<Int>) -> String {
        r.upperBound == .max ? "≥ \(r.lowerBound)" : "\(r.lowerBound)...\(r.upperBound)"
    }

    static func describe(_ r: ClosedRange<Double>) -> String {
        if r.upperBound == .infinity { return "≥ \(r.lowerBound)" }
        if r.upperBound >= Double(Float.greatestFiniteMagnitude) { return "≥ \(r.lowerBound), finite" }
        return "\(r.lowerBound)...\(r.upperBound)"
    }
}

/// Limits on model configurations read from files: far above every MiniMind(-V) and vision tower
/// in use (the largest: hidden 1024, 32 layers, vocab 151k, 32k positions, CLIP-L 336 px), and low
/// enough that no size product overflows and that a config cannot ask for more than the machine holds.
public enum ConfigLimits {
    public static let maxHiddenSize = 16_384
    public static let maxLayers = 1_024
    public static let maxHeads = 1_024
    public static let maxVocabSize = 1 << 22
    public static let maxPositions = 1 << 20
    public static let maxIntermediateSize = 1 << 17
    public static let maxExperts = 1_024
    public static let maxImageSize = 4_096
    /// Parameters a config may describe (≈ 16 GiB of float32): checked before any weight is allocated.
    public static let maxParameters = 1 << 32
}

extension InputRange {
    /// More compute threads than this only spin against each other (and each reserves a stack).
    public static var maxThreads: Int { max(64, 4 * ProcessInfo.processInfo.activeProcessorCount) }

    /// `--threads N`: checked, then applied.
    public static func setThreads(_ n: Int?, field: String = "Threads.count") throws {
        guard let n else { return }
        try check(field, n, in: 1...maxThreads)
        Threads.set(n)
    }
}
