import Foundation

/// A decoded `.pth` pickle: the containers and scalars torch checkpoints hold, with tensors already
/// rebuilt. Dict keys keep file order and may be any value (optimizer state uses integer keys).
public indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer outside Int64, as little-endian two's-complement bytes (pickle LONG1/LONG4).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes(Data)
    case list([PickleValue])
    case tuple([PickleValue])
    case dict([(key: PickleValue, value: PickleValue)])
    case tensor(TensorData)

    /// The value under a string key of a dict.
    public subscript(key: String) -> PickleValue? {
        guard case let .dict(items) = self else { return nil }
        return items.first { if case let .string(s) = $0.key { return s == key }; return false }?.value
    }

    /// The value under an integer key of a dict (optimizer state is keyed by parameter index).
    public subscript(intKey key: Int64) -> PickleValue? {
        guard case let .dict(items) = self else { return nil }
        return items.first { if case let .int(i) = $0.key { return i == key }; return false }?.value
    }

    public var intValue: Int64? { if case let .int(i) = self { return i }; return nil }
    public var boolValue: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    public var tensorValue: TensorData? { if case let .tensor(t) = self { return t }; return nil }
    /// Floats, and ints converted to Double.
    public var doubleValue: Double? {
        switch self {
        case let .float(d): return d
        case let .int(i): return Double(i)
        default: return nil
        }
    }
    /// Items of a list or a tuple.
    public var arrayValue: [PickleValue]? {
        switch self {
        case let .list(a), let .tuple(a): return a
        default: return nil
        }
    }
    public var dictEntries: [(key: PickleValue, value: PickleValue)]? { if case let .dict(d) = self { return d }; return nil }

    /// A dict with string keys, built in the given order (for writing resume files).
    public static func dict(_ pairs: KeyValuePairs<String, PickleValue>) -> PickleValue {
        .dict(pairs.map { (key: PickleValue.string($0.key), value: $0.value) })
    }

    /// A state dict as a pickle dict of tensors.
    public static func stateDict(_ state: StateDict) -> PickleValue {
        .dict(state.entries.map { (key: .string($0.name), value: .tensor($0.tensor)) })
    }
}

extension PickleValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .bigInt(b): return "<int of \(b.count) bytes>"
        case let .float(d): return String(d)
        case let .string(s): return jsonQuoted(s)
        case let .bytes(d): return "<\(d.count) bytes>"
        case let .list(a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case let .tuple(a): return "(" + a.map(\.description).joined(separator: ", ") + (a.count == 1 ? ",)" : ")")
        case let .dict(d): return "{" + d.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case let .tensor(t): return "tensor(\(t.dtype.rawValue), \(t.shape))"
        }
    }
}
