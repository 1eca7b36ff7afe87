import Foundation

/// The older MiniMind-V format: one JSON object per line,
/// `{"conversations": [{"role","content"}…], "image": "a.jpg, b.jpg"}`, images in a folder.
/// The file is memory-mapped and split on LF (a CR before it is dropped, so CRLF files read the
/// same); each line is decoded and parsed only when used, so invalid UTF-8, bad JSON or an
/// over-long line is one malformed row naming its line number, not a failed load.
public struct JSONLConversationDataset: ConversationDataset {
    public let url: URL
    public let imageFolder: URL?
    public let limits: DataLimits
    private let bytes: Data
    private let lines: [(number: Int, range: Range<Int>)]

    public init(url: URL, imageFolder: URL?, limits: DataLimits = .default) throws {
        self.url = url
        self.imageFolder = imageFolder
        self.limits = limits
        do { bytes = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw TrainingDataError.unreadable(path: url.path, reason: "\(error.localizedDescription)")
        }
        lines = Self.nonBlankLines(bytes)
    }

    /// 1-based line numbers and byte ranges (without the line end) of the lines that hold more
    /// than ASCII whitespace.
    static func nonBlankLines(_ data: Data) -> [(number: Int, range: Range<Int>)] {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var out: [(Int, Range<Int>)] = []
            var start = 0, number = 1, blank = true
            func finish(_ end: Int) {
                var stop = end
                if stop > start && raw[stop - 1] == 0x0D { stop -= 1 }
                if !blank { out.append((number, start..<stop)) }
            }
            for i in 0..<raw.count {
                let b = raw[i]
                if b == 0x0A {
                    finish(i)
                    start = i + 1; number += 1; blank = true
                } else if blank && !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C) {
                    blank = false
                }
            }
            finish(raw.count)
            return out
        }
    }

    public var count: Int { lines.count }

    public func row(_ index: Int) throws -> ConversationRow {
        let (number, range) = lines[index]
        let name = "\(url.lastPathComponent) line \(number)"
        if let tooLong = limits.checkText(bytes: range.count, row: name) { throw tooLong }
        guard let text = String(validating: bytes[bytes.startIndex + range.lowerBound..<bytes.startIndex + range.upperBound],
                                as: UTF8.self) else {
            throw TrainingDataError.malformedRow(row: name, reason: "not valid UTF-8")
        }
        let json: OrderedJSON
        do { json = try OrderedJSON.parse(text) } catch {
            throw TrainingDataError.malformedRow(row: name, reason: "bad JSON: \(error)")
        }
        guard let conversations = json["conversations"] else {
            throw TrainingDataError.malformedRow(row: name, reason: "no 'conversations' key")
        }
        let messages = try ConversationRow.messages(fromJSON: conversations, row: name)
        var images: [PromptImage] = []
        if let field = json["image"]?.stringValue, !field.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let folder = imageFolder else {
                throw TrainingDataError.malformedRow(row: name, reason: "names images ('\(field)') but no image folder was given")
            }
            for file in field.split(separator: ",", omittingEmptySubsequences: false) {
                images.append(.file(try Self.confined(file.trimmingCharacters(in: .whitespaces), in: folder, row: name)))
            }
        }
        var attributes: [String: OrderedJSON] = [:]
        if case let .object(pairs) = json {
            for (key, value) in pairs where key != "conversations" && key != "image" { attributes[key] = value }
        }
        return ConversationRow(name: name, messages: messages, images: images, attributes: attributes)
    }

    /// The file `name` names inside `folder`, with `..` and symbolic links resolved; a name that is
    /// empty, absolute, or resolves outside the folder is a malformed row (data must not make the
    /// trainer open files elsewhere).
    static func confined(_ name: String, in folder: URL, row: String) throws -> URL {
        func bad(_ why: String) -> TrainingDataError {
            .malformedRow(row: row, reason: "image name '\(name)' \(why); names are relative to the image folder \(folder.path)")
        }
        guard !name.isEmpty else { throw bad("is empty") }
        guard !name.hasPrefix("/"), !name.hasPrefix("~") else { throw bad("is absolute") }
        guard !name.utf8.contains(0) else { throw bad("contains a NUL byte") }
        let root = folder.standardizedFileURL.resolvingSymlinksInPath().path
        let file = URL(fileURLWithPath: root).appendingPathComponent(name).standardizedFileURL.resolvingSymlinksInPath()
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard file.path.hasPrefix(prefix) else { throw bad("leads outside the folder (to \(file.path))") }
        return file
    }
}
