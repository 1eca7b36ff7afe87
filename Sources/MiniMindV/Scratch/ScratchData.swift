// The recipe's data: conversation rows in the layouts the trainers read (JSONL + image folder, or
// upstream Parquet), and the text each stage derives from them. Captions are optional: without
// them, the projector stage trains on the conversations themselves and the vision stage contrasts
// each image with the answers given about it.
import Foundation

/// Where the data is. `train` holds conversations about one image each (the SFT stage); `captions`
/// (optional) image–caption rows for the pretrain stage; `validation` held-out conversations (loss
/// during SFT); `test` the evaluation questions (a row's `type` scores per type); `testCaptions`
/// (optional) caption questions about test images, scored by the caption metrics.
public struct ScratchInputs: Sendable {
    public var train: URL
    public var images: URL?
    public var captions: URL?
    public var validation: URL?
    public var test: URL?
    public var testCaptions: URL?
    public init(train: URL, images: URL? = nil, captions: URL? = nil, validation: URL? = nil, test: URL? = nil, testCaptions: URL? = nil) {
        self.train = train
        self.images = images
        self.captions = captions
        self.validation = validation
        self.test = test
        self.testCaptions = testCaptions
    }
}

public struct ScratchData {
    public var train: [ConversationRow]
    public var captions: [ConversationRow]
    public var validation: [ConversationRow]
    public var test: [ConversationRow]
    public var testCaptions: [ConversationRow]
    /// Rows that could not be read, per file (each costs its row only).
    public var skipped: [(file: String, count: Int)] = []
    public var hasCaptions: Bool { !captions.isEmpty }

    /// The rows of the projector stage: the captions, or the conversations when there are none.
    public var pretrainRows: [ConversationRow] { hasCaptions ? captions : train }
    /// The rows of the language-model stage: every training text once.
    public var textRows: [ConversationRow] { captions + train }

    /// Reads every file; without a test file, the last tenth of the training rows (at least one) is held out as the test set.
    public static func load(_ inputs: ScratchInputs, warn: (String) -> Void = { _ in }) throws -> ScratchData {
        var skipped: [(String, Int)] = []
        func rows(_ url: URL?) throws -> [ConversationRow] {
            guard let url else { return [] }
            let dataset = try openConversationDataset(url, imageFolder: inputs.images)
            var out: [ConversationRow] = [], bad = 0
            for k in 0..<dataset.count {
                do { out.append(try dataset.row(k)) } catch {
                    bad += 1
                    warn("warning: skipping \(error)")
                }
            }
            if bad > 0 { skipped.append((url.path, bad)) }
            return out
        }
        var data = ScratchData(train: try rows(inputs.train), captions: try rows(inputs.captions), validation: try rows(inputs.validation),
                               test: try rows(inputs.test), testCaptions: try rows(inputs.testCaptions))
        data.skipped = skipped
        if inputs.test == nil {
            guard data.train.count >= 2 else { throw ScratchError.data("\(inputs.train.path): needs at least 2 rows to hold one out as the test set (or pass --test)") }
            let held = max(1, data.train.count / 10)
            data.test = Array(data.train.suffix(held))
            data.train.removeLast(held)
        }
        guard !data.train.isEmpty else { throw ScratchError.data("\(inputs.train.path): no usable training row") }
        for row in data.train + data.captions where row.images.count != 1 {
            throw ScratchError.data("\(row.name): the recipe needs exactly one image per training row, it has \(row.images.count)")
        }
        return data
    }

    public static func withoutImageMarker(_ text: String, marker: String = "<image>") -> String {
        text.replacingOccurrences(of: marker + "\n", with: "").replacingOccurrences(of: marker, with: "")
    }

    /// The row as text alone: image markers and images dropped (the language-model stage).
    public static func textOnly(_ row: ConversationRow) -> ConversationRow {
        var row = row
        row.images = []
        row.messages = row.messages.map { m in
            var m = m
            m.content = m.content.map { withoutImageMarker($0) }
            return m
        }
        return row
    }

    /// The text of every turn (markers removed): what the tokenizer is trained on.
    public var tokenizerTexts: [String] { textRows.flatMap { $0.messages.map { Self.withoutImageMarker($0.content ?? "") } } }

    /// Assistant turns of a row by position (MiniMind2 rows may omit roles: odd turns answer).
    public static func answers(_ row: ConversationRow) -> [String] {
        row.messages.enumerated().filter { $0.offset % 2 == 1 }.map { $0.element.content ?? "" }
    }

    /// One entry per distinct image of `rows` (first row wins), with the text that describes it:
    /// its captions' answers, or else every answer given about it, in order.
    public static func imageTexts(_ rows: [ConversationRow]) -> [(image: PromptImage, name: String, text: String)] {
        var order: [UInt64] = [], byKey: [UInt64: (PromptImage, String, [String])] = [:]
        for (k, row) in rows.enumerated() {
            guard row.images.count == 1 else { continue }
            let key = row.images[0].contentKey ?? UInt64(k)
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = (row.images[0], imageName(row) ?? row.name, [])
            }
            byKey[key]?.2 += answers(row)
        }
        return order.compactMap { key in byKey[key].map { ($0.0, $0.1, $0.2.joined(separator: " ")) } }
    }

    /// The file name of a row's one image, nil for images without a file.
    public static func imageName(_ row: ConversationRow) -> String? {
        guard row.images.count == 1, case .file(let url) = row.images[0] else { return nil }
        return url.lastPathComponent
    }

    /// The caption question the captions ask most often (with its image marker), nil without captions.
    public var captionPrompt: String? {
        var counts: [String: Int] = [:]
        for row in captions { if let q = row.messages.first?.content { counts[q, default: 0] += 1 } }
        return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
    }

    /// The first test question of each type (at most 4): the model folder's example questions.
    public var exampleQuestions: [String] {
        var seen = Set<String>(), out: [String] = []
        for row in test {
            let type = row.attributes["type"]?.stringValue ?? "all"
            guard seen.insert(type).inserted, let q = row.messages.first?.content else { continue }
            out.append(Self.withoutImageMarker(q))
        }
        return Array(out.prefix(4))
    }
}
