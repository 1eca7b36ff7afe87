import Foundation
import MiniMindFormats

/// Bounds on what one data row may cost, checked before the row's text is copied, parsed or
/// tokenised, so a hostile row costs that row and not the run's memory. The defaults are far above
/// real data: upstream's longest SFT conversations are a few KB of text (max_seq_len ≤ 8192 tokens
/// is ~30 KB), and pyarrow writes pages of about 1 MB.
public struct DataLimits: Equatable, Sendable {
    /// Largest JSONL line or Parquet `conversations` string accepted, in bytes.
    public var maxRowTextBytes: Int
    /// Largest decompressed Parquet page accepted when reading a dataset, in bytes (a page holds at
    /// least one whole value, so this also bounds one encoded image).
    public var maxParquetPageBytes: Int

    public init(maxRowTextBytes: Int = 1 << 20, maxParquetPageBytes: Int = 64 << 20) {
        self.maxRowTextBytes = maxRowTextBytes
        self.maxParquetPageBytes = maxParquetPageBytes
    }

    public static let `default` = DataLimits()

    var parquet: ParquetLimits {
        var limits = ParquetLimits()
        limits.maxPageBytes = maxParquetPageBytes
        return limits
    }

    /// The malformed-row error for a text over the limit, or nil.
    func checkText(bytes: Int, row: String) -> TrainingDataError? {
        guard bytes > maxRowTextBytes else { return nil }
        return .malformedRow(row: row, reason: "text of \(bytes) bytes exceeds the \(maxRowTextBytes)-byte row limit (DataLimits.maxRowTextBytes)")
    }
}
