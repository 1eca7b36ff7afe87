import Foundation

/// A random-access list of conversation rows. `row(_:)` throws `TrainingDataError.malformedRow`
/// for a row that cannot be parsed; the others stay usable.
public protocol ConversationDataset {
    var count: Int { get }
    func row(_ index: Int) throws -> ConversationRow
}

/// Rows already in memory (examples, tests, data built in code).
public struct InMemoryConversationDataset: ConversationDataset {
    public var rows: [ConversationRow]
    public init(_ rows: [ConversationRow]) { self.rows = rows }
    public var count: Int { rows.count }
    public func row(_ index: Int) throws -> ConversationRow { rows[index] }
}

/// The current upstream format: Parquet with `conversations` (a JSON string) and `image_bytes`
/// (bytes or a list of bytes; absent or null for text-only rows). The file is read once at open;
/// rows keep their encoded images (decoding happens once, when vision features are extracted).
/// A row with a null conversation or one over `DataLimits.maxRowTextBytes` is kept as a malformed
/// row (its text is not kept), so it costs that row, not the file.
public struct ParquetConversationDataset: ConversationDataset {
    public let url: URL
    public let limits: DataLimits
    private enum Entry { case row(MiniMindParquetRow), bad(String) }
    private let raw: [Entry]
    private let attributes: [[String: OrderedJSON]]
    /// Optional columns kept as row attributes (evaluation reads them).
    public static let attributeColumns = ["id", "type", "category", "answers"]

    public init(url: URL, limits: DataLimits = .default) throws {
        self.url = url
        self.limits = limits
        var rows: [Entry] = []
        var attributes: [[String: OrderedJSON]] = []
        do {
            let reader = try ParquetReader(url: url, limits: limits.parquet)
            let iterator = try reader.miniMindRows()
            while true {
                do {
                    guard let row = try iterator.next() else { break }
                    if let problem = limits.checkText(bytes: row.conversations.utf8.count, row: "") {
                        rows.append(.bad(problem.reason))
                    } else {
                        rows.append(.row(row))
                    }
                } catch let error as MiniMindParquetRowError {
                    rows.append(.bad(error.message))
                }
            }
            let present = Self.attributeColumns.filter { reader.schema.column(named: $0) != nil }
            if !present.isEmpty {
                let extra = try reader.rows(columns: present)
                while let row = try extra.next() { attributes.append(Self.attributes(row, columns: present)) }
            }
        } catch {
            throw TrainingDataError.unreadable(path: url.path, reason: "\(error)")
        }
        raw = rows
        self.attributes = attributes
    }

    /// Text and integer cells as JSON values; `answers` text is parsed as JSON when it is a JSON
    /// array; other types are left out.
    static func attributes(_ row: ParquetRow, columns: [String]) -> [String: OrderedJSON] {
        var out: [String: OrderedJSON] = [:]
        for c in columns {
            switch row[c] ?? .null {
            case .bytes(let b):
                guard let text = String(validating: b, as: UTF8.self) else { continue }
                if c == "answers", let json = try? OrderedJSON.parse(text), case .array = json { out[c] = json } else { out[c] = .string(text) }
            case .int32(let v): out[c] = .int(Int(v))
            case .int64(let v): out[c] = .int(Int(v))
            default: continue
            }
        }
        return out
    }

    public var count: Int { raw.count }

    public func row(_ index: Int) throws -> ConversationRow {
        let name = "\(url.lastPathComponent) row \(index)"
        switch raw[index] {
        case .bad(let reason): throw TrainingDataError.malformedRow(row: name, reason: reason)
        case .row(let row):
            let messages = try ConversationRow.messages(fromJSONText: row.conversations, row: name)
            return ConversationRow(name: name, messages: messages, images: row.images.map { .encoded($0) },
                                   attributes: index < attributes.count ? attributes[index] : [:])
        }
    }
}

/// Opens a dataset by extension: `.parquet`, or `.jsonl`/`.json` with an image folder.
public func openConversationDataset(_ url: URL, imageFolder: URL? = nil, limits: DataLimits = .default) throws -> ConversationDataset {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw TrainingDataError.unreadable(path: url.path, reason: "no such file")
    }
    switch url.pathExtension.lowercased() {
    case "parquet": return try ParquetConversationDataset(url: url, limits: limits)
    case "jsonl", "json": return try JSONLConversationDataset(url: url, imageFolder: imageFolder, limits: limits)
    default:
        throw TrainingDataError.unreadable(path: url.path, reason: "unknown extension '.\(url.pathExtension)'; expected .parquet or .jsonl")
    }
}
