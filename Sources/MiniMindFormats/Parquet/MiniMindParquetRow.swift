import Foundation

/// One sample of an upstream MiniMind-V Parquet dataset: the conversation (a JSON string of
/// {role, content} turns) and its images' encoded bytes (JPEG/PNG), in order.
public struct MiniMindParquetRow: Sendable, Equatable {
    public var conversations: String
    public var images: [Data]

    public init(conversations: String, images: [Data]) {
        self.conversations = conversations
        self.images = images
    }
}

/// Streams `MiniMindParquetRow`s: `image_bytes` may be binary, a list of binary, null, or absent
/// (text-only data); null images and null list elements are dropped. A null `conversations` throws
/// `MiniMindParquetRowError` naming the row; the iterator has then moved past that row, so the
/// next `next()` continues with the following one (a bad row costs one row, not the file).
public final class MiniMindParquetRowIterator {
    public static let conversationsColumn = "conversations"
    public static let imagesColumn = "image_bytes"

    private let rows: ParquetRowIterator
    private let path: String
    private var index = 0

    init(reader: ParquetReader) throws {
        path = reader.source.path
        var columns = [Self.conversationsColumn]
        if reader.schema.column(named: Self.imagesColumn) != nil { columns.append(Self.imagesColumn) }
        rows = try reader.rows(columns: columns)
    }

    public func next() throws -> MiniMindParquetRow? {
        guard let row = try rows.next() else { return nil }
        defer { index += 1 }
        guard let conversations = try row.string(Self.conversationsColumn) else {
            throw MiniMindParquetRowError(path: path, row: index, message: "'conversations' is null; every sample needs a conversation")
        }
        var images: [Data] = []
        switch row[Self.imagesColumn] ?? .null {
        case .null: break
        case .bytes(let bytes): images = [Data(bytes)]
        case .list:
            images = (try row.binaryList(Self.imagesColumn) ?? []).compactMap { $0.map { Data($0) } }
        case let other:
            throw ParquetError.typeMismatch(column: Self.imagesColumn, expected: "bytes or a list of bytes", found: other.typeName)
        }
        return MiniMindParquetRow(conversations: conversations, images: images)
    }
}

/// One row of a MiniMind-V dataset that cannot be a sample; the rows after it are still readable.
public struct MiniMindParquetRowError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let row: Int
    public let message: String
    public var description: String { "Parquet: '\(path)' row \(row): \(message)" }
}

extension ParquetReader {
    /// Rows of a MiniMind-V dataset file (columns `conversations` and, when present, `image_bytes`).
    public func miniMindRows() throws -> MiniMindParquetRowIterator {
        try MiniMindParquetRowIterator(reader: self)
    }
}
