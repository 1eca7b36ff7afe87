import Foundation

/// Column names shared by every row of one iteration, with a name → position map.
final class ParquetRowLayout: @unchecked Sendable {  // immutable after init
    let names: [String]
    let positions: [String: Int]

    init(names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
        self.positions = positions
    }
}

/// One row: a value per requested column. Typed accessors return nil for null and throw when
/// the column is missing or holds another type.
public struct ParquetRow: Sendable {
    let layout: ParquetRowLayout
    public let values: [ParquetValue]

    public var columnNames: [String] { layout.names }

    public func value(_ column: String) throws -> ParquetValue {
        guard let index = layout.positions[column] else {
            throw ParquetError.unknownColumn(path: "(row)", column: column, available: layout.names)
        }
        return values[index]
    }

    public subscript(column: String) -> ParquetValue? {
        layout.positions[column].map { values[$0] }
    }

    public func isNull(_ column: String) throws -> Bool { try value(column) == .null }

    /// Bytes decoded as UTF-8; invalid UTF-8 is an error rather than silently repaired.
    public func string(_ column: String) throws -> String? {
        guard let bytes = try bytes(column) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ParquetError.typeMismatch(column: column, expected: "UTF-8 text", found: "\(bytes.count) bytes that are not valid UTF-8")
        }
        return text
    }

    public func bytes(_ column: String) throws -> [UInt8]? {
        switch try value(column) {
        case .null: return nil
        case .bytes(let bytes): return bytes
        case let other: throw ParquetError.typeMismatch(column: column, expected: "bytes", found: other.typeName)
        }
    }

    public func binary(_ column: String) throws -> Data? {
        try bytes(column).map { Data($0) }
    }

    /// A list of byte arrays; null elements inside the list are kept as nil.
    public func binaryList(_ column: String) throws -> [[UInt8]?]? {
        switch try value(column) {
        case .null: return nil
        case .list(let items):
            return try items.map { item -> [UInt8]? in
                switch item {
                case .null: return nil
                case .bytes(let bytes): return bytes
                case let other: throw ParquetError.typeMismatch(column: column, expected: "a list of bytes", found: "a list holding \(other.typeName)")
                }
            }
        case let other: throw ParquetError.typeMismatch(column: column, expected: "a list of bytes", found: other.typeName)
        }
    }

    public func list(_ column: String) throws -> [ParquetValue]? {
        switch try value(column) {
        case .null: return nil
        case .list(let items): return items
        case let other: throw ParquetError.typeMismatch(column: column, expected: "a list", found: other.typeName)
        }
    }

    public func int32(_ column: String) throws -> Int32? {
        switch try value(column) {
        case .null: return nil
        case .int32(let v): return v
        case let other: throw ParquetError.typeMismatch(column: column, expected: "an INT32", found: other.typeName)
        }
    }

    /// INT64 or INT32 values, widened.
    public func int64(_ column: String) throws -> Int64? {
        switch try value(column) {
        case .null: return nil
        case .int64(let v): return v
        case .int32(let v): return Int64(v)
        case let other: throw ParquetError.typeMismatch(column: column, expected: "an integer", found: other.typeName)
        }
    }

    public func float(_ column: String) throws -> Float? {
        switch try value(column) {
        case .null: return nil
        case .float(let v): return v
        case let other: throw ParquetError.typeMismatch(column: column, expected: "a FLOAT", found: other.typeName)
        }
    }

    /// DOUBLE or FLOAT values, widened.
    public func double(_ column: String) throws -> Double? {
        switch try value(column) {
        case .null: return nil
        case .double(let v): return v
        case .float(let v): return Double(v)
        case let other: throw ParquetError.typeMismatch(column: column, expected: "a floating-point number", found: other.typeName)
        }
    }

    public func bool(_ column: String) throws -> Bool? {
        switch try value(column) {
        case .null: return nil
        case .bool(let v): return v
        case let other: throw ParquetError.typeMismatch(column: column, expected: "a boolean", found: other.typeName)
        }
    }
}
