import Foundation

/// Everything that can go wrong while reading a Parquet file. Messages name the file (when known),
/// the place in it, and what was expected versus found, so a person can act on them.
public enum ParquetError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read from the operating system's side.
    case io(path: String, message: String)
    /// The file is not Parquet (magic bytes), or it is encrypted ("PARE").
    case notParquet(path: String, message: String)
    /// A structure inside the file is inconsistent: a bad offset, length, count or value.
    case corrupt(path: String, context: String, message: String)
    /// A valid Parquet feature that this reader does not implement (named).
    case unsupported(path: String, feature: String)
    /// The caller asked for a column that the file does not have.
    case unknownColumn(path: String, column: String, available: [String])
    /// The caller read a column as a type it does not hold.
    case typeMismatch(column: String, expected: String, found: String)

    public var description: String {
        switch self {
        case let .io(path, message):
            return "Parquet: cannot read '\(path)': \(message)"
        case let .notParquet(path, message):
            return "Parquet: '\(path)' is not a readable Parquet file: \(message)"
        case let .corrupt(path, context, message):
            return "Parquet: '\(path)' is corrupt (\(context)): \(message)"
        case let .unsupported(path, feature):
            return "Parquet: '\(path)' uses \(feature), which this reader does not support"
        case let .unknownColumn(path, column, available):
            return "Parquet: '\(path)' has no column '\(column)'; available columns: \(available.joined(separator: ", "))"
        case let .typeMismatch(column, expected, found):
            return "Parquet: column '\(column)' holds \(found), not \(expected)"
        }
    }
}

/// An error raised deep inside a decoder before the file path is known; the reader wraps it into
/// `ParquetError.corrupt` with the path and the place it was decoding.
struct ParquetDecodeError: Error {
    let message: String
    /// True when the file is valid but uses a feature this reader lacks (the message names it).
    let isUnsupported: Bool
    init(_ message: String) { self.message = message; isUnsupported = false }
    init(unsupported feature: String) { message = feature; isUnsupported = true }

    /// Attaches the file and the place being decoded.
    func located(path: String, context: String) -> ParquetError {
        isUnsupported ? .unsupported(path: path, feature: "\(message) (\(context))")
                      : .corrupt(path: path, context: context, message: message)
    }
}
