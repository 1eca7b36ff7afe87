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
public struct ParquetConversationDataset: ConversationDataset {
    public let url: URL
    private let raw: [MiniMindParquetRow]
    private let attributes: [[String: OrderedJSON]]
    /// Optional columns kept as row attributes (evaluation reads them).
    public static let attributeColumns = ["id", "type", "category", "answers"]

    public init(url: URL) throws {
        self.url = url
        var rows: [MiniMindParquetRow] = []
        var attributes: [[String: OrderedJSON]] = []
        do {
            let reader = try ParquetReader(url: url)
            let iterator = try reader.miniMindRows()
            while let row = try iterator.next() { rows.append(row) }
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
        let messages = try ConversationRow.messages(fromJSONText: raw[index].conversations, row: name)
        return ConversationRow(name: name, messages: messages, images: raw[index].images.map { .encoded($0) },
                               attributes: index < attributes.count ? attributes[index] : [:])
    }
}

/// The older MiniMind-V format: one JSON object per line,
/// `{"conversations": [{"role","content"}…], "image": "a.jpg, b.jpg"}`, images in a folder.
/// Lines are parsed when used, so a bad line is one malformed row, not a failed load.
public struct JSONLConversationDataset: ConversationDataset {
    public let url: URL
    public let imageFolder: URL?
    private let lines: [(number: Int, text: Substring)]

    public init(url: URL, imageFolder: URL?) throws {
        self.url = url
        self.imageFolder = imageFolder
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw TrainingDataError.unreadable(path: url.path, reason: "\(error.localizedDescription)")
        }
        var out: [(Int, Substring)] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy(\.isWhitespace) {
            out.append((i + 1, line))
        }
        lines = out
    }

    public var count: Int { lines.count }

    public func row(_ index: Int) throws -> ConversationRow {
        let (number, text) = lines[index]
        let name = "\(url.lastPathComponent) line \(number)"
        let json: OrderedJSON
        do { json = try OrderedJSON.parse(String(text)) } catch {
            throw TrainingDataError.malformedRow(row: name, reason: "bad JSON: \(error)")
        }
        guard let conversations = json["conversations"] else {
            throw TrainingDataError.malformedRow(row: name, reason: "no 'conversations' key")
        }
        let messages = try ConversationRow.messages(fromJSON: conversations, row: name)
        var images: [TrainingImage] = []
        if let field = json["image"]?.stringValue, !field.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let folder = imageFolder else {
                throw TrainingDataError.malformedRow(row: name, reason: "names images ('\(field)') but no image folder was given")
            }
            for file in field.split(separator: ",") {
                images.append(.file(folder.appendingPathComponent(file.trimmingCharacters(in: .whitespaces))))
            }
        }
        var attributes: [String: OrderedJSON] = [:]
        if case let .object(pairs) = json {
            for (key, value) in pairs where key != "conversations" && key != "image" { attributes[key] = value }
        }
        return ConversationRow(name: name, messages: messages, images: images, attributes: attributes)
    }
}

/// Opens a dataset by extension: `.parquet`, or `.jsonl`/`.json` with an image folder.
public func openConversationDataset(_ url: URL, imageFolder: URL? = nil) throws -> ConversationDataset {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw TrainingDataError.unreadable(path: url.path, reason: "no such file")
    }
    switch url.pathExtension.lowercased() {
    case "parquet": return try ParquetConversationDataset(url: url)
    case "jsonl", "json": return try JSONLConversationDataset(url: url, imageFolder: imageFolder)
    default:
        throw TrainingDataError.unreadable(path: url.path, reason: "unknown extension '.\(url.pathExtension)'; expected .parquet or .jsonl")
    }
}
