// Evaluation samples from any conversation dataset the trainers read: one sample per assistant
// turn, whose prompt is the conversation before it and whose reference is the turn itself.
import Foundation

/// What is being measured: answers (exact match, VQA accuracy) or captions (BLEU, CIDEr-D, ROUGE-L).
public enum EvalTask: String, CaseIterable, Codable, Sendable {
    case caption, vqa, auto

    /// `auto`: answers when the median reference has at most 3 words, captions otherwise.
    public static func detect(_ samples: [EvalSample]) -> EvalTask {
        let words = samples.map { s in s.references.map { $0.split(whereSeparator: \.isWhitespace).count }.min() ?? 0 }.sorted()
        guard !words.isEmpty else { return .vqa }
        return words[(words.count - 1) / 2] <= 3 ? .vqa : .caption
    }
}

public struct EvalSample: @unchecked Sendable {
    /// The row's `id` attribute, else its name (`test.jsonl line 3`), with `#k` for the k-th answer of a row.
    public var id: String
    /// The row's `type` or `category` attribute, else "all".
    public var type: String
    /// The last user turn, image markers removed (for people).
    public var question: String
    /// The conversation before the answer (roles resolved), image markers kept.
    public var prompt: [ChatMessage]
    /// The answer turn, or the row's `answers` list when it has one and a single assistant turn.
    public var references: [String]
    /// The images of the prompt's markers, in order.
    public var images: [PromptImage]
    /// Index of the source row in the dataset (perplexity is measured per row).
    public var rowIndex: Int
}

public enum EvalSampleLoader {
    /// Samples of `dataset` in row order, at most `maxSamples`. Rows that cannot be used (bad JSON,
    /// no user turn before an answer, more markers than images) are reported through `warn` and skipped.
    public static func load(_ dataset: ConversationDataset, rolesByPosition: Bool, imageMarker: String,
                            maxSamples: Int? = nil, warn: (String) -> Void = { _ in }) -> (samples: [EvalSample], skipped: Int) {
        var out: [EvalSample] = [], skipped = 0
        let limit = maxSamples ?? Int.max
        for index in 0..<dataset.count where out.count < limit {
            do {
                out += try samples(try dataset.row(index), index: index, rolesByPosition: rolesByPosition, imageMarker: imageMarker)
                    .prefix(limit - out.count)
            } catch {
                skipped += 1
                warn("warning: skipping \(error)")
            }
        }
        return (out, skipped)
    }

    static func samples(_ row: ConversationRow, index: Int, rolesByPosition: Bool, imageMarker: String) throws -> [EvalSample] {
        func bad(_ reason: String) -> TrainingDataError { .malformedRow(row: row.name, reason: reason) }
        let messages = rolesByPosition
            ? row.messages.enumerated().map { i, m in ChatMessage(role: i % 2 == 0 ? "user" : "assistant", content: m.content) }
            : row.messages
        let answers = messages.indices.filter { messages[$0].role == "assistant" }
        guard !answers.isEmpty else { throw bad("no assistant turn") }
        let id = text(row.attributes["id"]) ?? row.name
        let type = text(row.attributes["type"]) ?? text(row.attributes["category"]) ?? "all"
        var listed: [String]?
        if case let .array(items)? = row.attributes["answers"] {
            listed = items.compactMap { $0.stringValue ?? ($0["answer"]?.stringValue) }
        }
        var out: [EvalSample] = []
        for (k, a) in answers.enumerated() {
            let prompt = Array(messages[..<a])
            guard let user = prompt.last(where: { $0.role == "user" }) else { throw bad("assistant turn \(a) has no user turn before it") }
            let markers = prompt.filter { $0.role != "system" }.map { ($0.content ?? "").components(separatedBy: imageMarker).count - 1 }
                .reduce(0, +)
            guard markers <= row.images.count else { throw bad("\(markers) '\(imageMarker)' markers but \(row.images.count) images") }
            var references = [messages[a].content ?? ""]
            if let listed, !listed.isEmpty, answers.count == 1 { references = listed }
            let question = (user.content ?? "").replacingOccurrences(of: imageMarker, with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            out.append(EvalSample(id: answers.count == 1 ? id : "\(id)#\(k + 1)", type: type, question: question, prompt: prompt,
                                  references: references, images: Array(row.images.prefix(markers)), rowIndex: index))
        }
        return out
    }

    static func text(_ json: OrderedJSON?) -> String? {
        switch json {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        default: return nil
        }
    }
}
