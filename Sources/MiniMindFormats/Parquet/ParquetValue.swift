/// One cell of a Parquet row. Byte arrays stay bytes; `ParquetRow.string(_:)` decodes UTF-8.
public enum ParquetValue: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int32(Int32)
    case int64(Int64)
    case float(Float)
    case double(Double)
    /// BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY and INT96 values.
    case bytes([UInt8])
    case list([ParquetValue])

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int32: return "an INT32"
        case .int64: return "an INT64"
        case .float: return "a FLOAT"
        case .double: return "a DOUBLE"
        case .bytes: return "bytes"
        case .list: return "a list"
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let v): return String(v)
        case .int32(let v): return String(v)
        case .int64(let v): return String(v)
        case .float(let v): return String(v)
        case .double(let v): return String(v)
        case .bytes(let v): return "<\(v.count) bytes>"
        case .list(let v): return "[" + v.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// The decoded non-null values of one page (or a dictionary), kept in column form.
enum ParquetValueBuffer {
    /// Byte arrays inside a shared buffer (usually the decoded page itself, so values are not
    /// copied twice); value i is storage[starts[i] ..< starts[i] + lengths[i]].
    case bytes(storage: [UInt8], starts: [Int], lengths: [Int])
    case bool([Bool])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    /// Dictionary-encoded values: indices already checked to be < dictionary.count.
    indirect case dictionary(indices: [UInt32], dictionary: ParquetValueBuffer)

    var count: Int {
        switch self {
        case .bytes(_, let starts, _): return starts.count
        case .bool(let v): return v.count
        case .int32(let v): return v.count
        case .int64(let v): return v.count
        case .float(let v): return v.count
        case .double(let v): return v.count
        case .dictionary(let indices, _): return indices.count
        }
    }

    /// Value i; callers keep i < count (checked when the page is decoded).
    func value(at i: Int) -> ParquetValue {
        switch self {
        case let .bytes(storage, starts, lengths): return .bytes(Array(storage[starts[i]..<(starts[i] + lengths[i])]))
        case .bool(let v): return .bool(v[i])
        case .int32(let v): return .int32(v[i])
        case .int64(let v): return .int64(v[i])
        case .float(let v): return .float(v[i])
        case .double(let v): return .double(v[i])
        case let .dictionary(indices, dictionary): return dictionary.value(at: Int(indices[i]))
        }
    }
}
