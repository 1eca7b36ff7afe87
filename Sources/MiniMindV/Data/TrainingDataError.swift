import Foundation

/// Why a dataset or one of its rows cannot be used. Row problems name the row so a person can find
/// it (`sft.parquet row 17`, `data.jsonl line 3`); the trainer counts and skips them unless strict.
public enum TrainingDataError: Error, CustomStringConvertible, Equatable {
    /// One row is unusable: bad JSON, missing or corrupt image, no assistant turn, too long, …
    case malformedRow(row: String, reason: String)
    /// The dataset as a whole cannot be read (missing file, unknown format, no usable rows).
    case unreadable(path: String, reason: String)
    /// `strict` mode stopped at the first malformed row.
    case strictStop(row: String, reason: String)

    /// The reason part of a row error (what a person needs besides the row's name).
    public var reason: String {
        switch self {
        case .malformedRow(_, let reason), .unreadable(_, let reason), .strictStop(_, let reason): return reason
        }
    }

    public var description: String {
        switch self {
        case .malformedRow(let row, let reason): return "\(row): \(reason)"
        case .unreadable(let path, let reason): return "cannot read training data \(path): \(reason)"
        case .strictStop(let row, let reason):
            return "\(row): \(reason) (stopped in strict mode; without it malformed rows are counted and skipped)"
        }
    }
}
