// Docs/Model.md, "Training samples" samples: render with the chat template, expand <image>, tokenise; labels are -100 except
// the assistant answers (from after each `<|im_start|>assistant\n` through its `<|im_end|>\n`).
import Foundation

/// One tokenised training sample; `image` indexes the split's image list (nil: text only).
public struct DemoTokenized: Sendable {
    public var ids: [Int]
    public var labels: [Int]
    public var image: Int?
}

public struct DemoSampleBuilder {
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let imageText: String
    let answerStart: [Int]
    let answerEnd: [Int]

    public init(tokenizer: Tokenizer, imageText: String) throws {
        self.tokenizer = tokenizer
        template = try ChatTemplate(tokenizer: tokenizer)
        self.imageText = imageText
        answerStart = tokenizer.encode("<|im_start|>assistant\n")
        answerEnd = tokenizer.encode("<|im_end|>\n")
    }

    func messages(_ sample: DemoSample, dropImage: Bool = false) -> [ChatMessage] {
        sample.conversations.map { m in
            let text = dropImage ? m.content.replacingOccurrences(of: "<image>\n", with: "") : m.content
            return m.role == "assistant" ? .assistant(text) : .user(text)
        }
    }

    /// The full conversation with labels. `dropImage`: the text-only version (language-model pretraining).
    public func training(_ sample: DemoSample, image: Int?, dropImage: Bool = false) throws -> DemoTokenized {
        let text = try template.render(messages(sample, dropImage: dropImage))
        let ids = tokenizer.encode(expandImagePlaceholders(text, placeholder: imageText, count: 1))
        return DemoTokenized(ids: ids, labels: labels(ids), image: dropImage ? nil : image)
    }

    /// The prompt for the first question (user turn + generation prompt) and its expected answer.
    public func prompt(_ sample: DemoSample) throws -> (ids: [Int], answer: String) {
        let user = sample.conversations[0].content
        let text = try template.render([.user(user)], options: ChatTemplateOptions(addGenerationPrompt: true))
        let ids = tokenizer.encode(expandImagePlaceholders(text, placeholder: imageText, count: 1))
        return (ids, sample.conversations[1].content)
    }

    /// Label = id inside assistant answers (start marker excluded, end marker included), else -100.
    func labels(_ ids: [Int]) -> [Int] {
        var labels = [Int](repeating: -100, count: ids.count)
        var i = 0
        while i + answerStart.count <= ids.count {
            guard Array(ids[i..<(i + answerStart.count)]) == answerStart else { i += 1; continue }
            let start = i + answerStart.count
            var end = start
            while end < ids.count {
                if end + answerEnd.count <= ids.count && Array(ids[end..<(end + answerEnd.count)]) == answerEnd {
                    end += answerEnd.count
                    break
                }
                end += 1
            }
            for k in start..<min(end, ids.count) { labels[k] = ids[k] }
            i = end
        }
        return labels
    }
}

/// A right-padded batch: ids [B·T], next-token targets [B·T] (-100 at padding and unlabelled places).
public struct DemoBatch {
    public var ids: [Int]
    public var targets: [Int]
    public var batch: Int
    public var length: Int
    public var images: [Int]

    public init(_ samples: [DemoTokenized], pad: Int = 0) {
        batch = samples.count
        length = max(1, samples.map { $0.ids.count }.max() ?? 1)
        ids = [Int](repeating: pad, count: batch * length)
        targets = [Int](repeating: -100, count: batch * length)
        images = samples.compactMap { $0.image }
        for (b, s) in samples.enumerated() {
            for (t, id) in s.ids.enumerated() { ids[b * length + t] = id }
            // Position t predicts token t+1 (upstream's X = ids[:-1], Y = labels[1:]).
            for t in 0..<max(0, s.ids.count - 1) { targets[b * length + t] = s.labels[t + 1] }
        }
    }
}
