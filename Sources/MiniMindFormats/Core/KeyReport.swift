/// What strict weight loading found: names the model expects but the checkpoint lacks, names the
/// checkpoint has but the model does not use, and tensors whose shapes differ. All are reported
/// together so one run shows every problem.
public struct KeyReport: Equatable, Sendable {
    public struct Misshaped: Equatable, Sendable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]
    }

    public var missing: [String]
    public var unexpected: [String]
    public var misshaped: [Misshaped]

    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty }

    /// Throws `WeightLoadingError.mismatch` unless clean. `allowUnexpected` ignores extra keys
    /// (e.g. a checkpoint that also carries a vision tower the caller loads separately).
    public func check(allowUnexpected: Bool = false) throws {
        let extra = allowUnexpected ? [] : unexpected
        if missing.isEmpty && extra.isEmpty && misshaped.isEmpty { return }
        throw WeightLoadingError.mismatch(missing: missing, unexpected: extra, misshaped: misshaped)
    }
}

/// Compares what a model expects (name → shape) with a state dict. Lists are sorted by name.
public func checkKeys(expected: [String: [Int]], in state: StateDict) -> KeyReport {
    checkKeys(expected: expected, shapes: Dictionary(state.entries.map { ($0.name, $0.tensor.shape) }) { a, _ in a })
}

/// The same comparison against shapes by name (no tensors needed).
public func checkKeys(expected: [String: [Int]], shapes: [String: [Int]]) -> KeyReport {
    var missing: [String] = [], misshaped: [KeyReport.Misshaped] = []
    for (key, shape) in expected {
        guard let found = shapes[key] else { missing.append(key); continue }
        if found != shape { misshaped.append(.init(key: key, expected: shape, found: found)) }
    }
    let unexpected = shapes.keys.filter { expected[$0] == nil }
    return KeyReport(missing: missing.sorted(), unexpected: unexpected.sorted(), misshaped: misshaped.sorted { $0.key < $1.key })
}

public enum WeightLoadingError: Error, CustomStringConvertible, Equatable {
    case mismatch(missing: [String], unexpected: [String], misshaped: [KeyReport.Misshaped])

    public var description: String {
        switch self {
        case let .mismatch(missing, unexpected, misshaped):
            var lines = ["checkpoint does not match the model (\(missing.count) missing, \(unexpected.count) unexpected, \(misshaped.count) mis-shaped):"]
            if !missing.isEmpty { lines.append("  missing keys: " + missing.joined(separator: ", ")) }
            if !unexpected.isEmpty { lines.append("  unexpected keys: " + unexpected.joined(separator: ", ")) }
            for m in misshaped { lines.append("  \(m.key): expected shape \(m.expected), found \(m.found)") }
            return lines.joined(separator: "\n")
        }
    }
}
