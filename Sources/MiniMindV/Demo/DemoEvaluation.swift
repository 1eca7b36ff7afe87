// Stage 7: greedy answers to the test questions and exact-match accuracy per question type.
// Prompts are right-padded in a batch; causal attention means position len−1 of a row never sees
// its padding, so every step is one full forward without a mask and the next id is read there.
import Foundation

public struct DemoAnswer: Sendable {
    public var image: String
    public var type: DemoQuestionType
    public var question: String
    public var expected: String
    public var answer: String
    public var correct: Bool { answer == expected }
}

/// Exact-match accuracy, per type and overall.
public struct DemoScore: Sendable {
    public var correct: [DemoQuestionType: Int] = [:]
    public var total: [DemoQuestionType: Int] = [:]

    public init(_ answers: [DemoAnswer]) {
        for a in answers {
            total[a.type, default: 0] += 1
            if a.correct { correct[a.type, default: 0] += 1 }
        }
    }

    public func accuracy(_ type: DemoQuestionType) -> Double {
        Double(correct[type] ?? 0) / Double(max(total[type] ?? 0, 1))
    }

    public var overall: Double {
        Double(correct.values.reduce(0, +)) / Double(max(total.values.reduce(0, +), 1))
    }
}

/// The model's caption of a test image, next to the one its scene gives.
public struct DemoCaption: Sendable {
    public var image: String
    public var expected: String
    public var caption: String
    public var correct: Bool { caption == expected }
}

enum DemoEvaluation {
    /// Answers every test sample's first question. `features`: the vision features [N, tokens, dim]
    /// the samples' `imageIndex` points into (a single row used for all when `imageIndex` is nil:
    /// the blank image).
    static func answer(vlm: MiniMindVLM, builder: DemoSampleBuilder, samples: [DemoSample], imageIndex: [Int]?,
                       features: Tensor, maxNewTokens: Int = 4, batchSize: Int = 128) throws -> [DemoAnswer] {
        let prompts = try samples.map { try builder.prompt($0).ids }
        let generated = greedy(vlm: vlm, prompts: prompts, imageIndex: imageIndex, features: features,
                               eos: builder.tokenizer.eosTokenID ?? 2, maxNewTokens: maxNewTokens, batchSize: batchSize)
        return zip(samples, generated).map { s, ids in
            DemoAnswer(image: s.image, type: s.type ?? .shape,
                       question: s.conversations[0].content.replacingOccurrences(of: "<image>\n", with: ""),
                       expected: s.conversations[1].content,
                       answer: builder.tokenizer.decode(ids, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Captions the images (`names`, with their rows in `features`) as the caption turn asks
    /// (`DemoLanguage.captionQuestion`); `expected` is each scene's own caption.
    static func captions(vlm: MiniMindVLM, builder: DemoSampleBuilder, names: [String], expected: [String], imageIndex: [Int],
                         features: Tensor, maxNewTokens: Int = DemoLanguage.captionTokens) throws -> [DemoCaption] {
        let prompt = try builder.prompt(DemoSample(conversations: [.init(role: "user", content: DemoLanguage.captionQuestion),
                                                                   .init(role: "assistant", content: "")],
                                                   image: "", type: nil)).ids
        let generated = greedy(vlm: vlm, prompts: Array(repeating: prompt, count: names.count), imageIndex: imageIndex,
                               features: features, eos: builder.tokenizer.eosTokenID ?? 2, maxNewTokens: maxNewTokens)
        return zip(zip(names, expected), generated).map { pair, ids in
            DemoCaption(image: pair.0, expected: pair.1,
                        caption: builder.tokenizer.decode(ids, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Greedy continuations of `prompts` (each with one image run), without the eos id.
    static func greedy(vlm: MiniMindVLM, prompts: [[Int]], imageIndex: [Int]?, features: Tensor, eos: Int,
                       maxNewTokens: Int, batchSize: Int = 128) -> [[Int]] {
        var out: [[Int]] = []
        noGrad {
            var start = 0
            while start < prompts.count {
                let count = min(prompts.count, start + batchSize) - start
                let rows = imageIndex.map { Array($0[start..<(start + count)]) } ?? [Int](repeating: 0, count: count)
                let projected = vlm.project(indexSelect(features, axis: 0, indices: rows))
                var sequences = Array(prompts[start..<(start + count)])
                var generated = [[Int]](repeating: [], count: count)
                var finished = [Bool](repeating: false, count: count)
                for _ in 0..<maxNewTokens where finished.contains(false) {
                    let t = sequences.map(\.count).max() ?? 1
                    var ids = [Int](repeating: 0, count: count * t)
                    for (b, s) in sequences.enumerated() { for (i, id) in s.enumerated() { ids[b * t + i] = id } }
                    let logits = vlm.logits(ids: ids, batch: count, images: projected,
                                            imagesPerSample: (0..<count).map { [$0] })
                    let v = logits.shape[2]
                    let p = logits.pointer
                    for b in 0..<count where !finished[b] {
                        let row = p + (b * t + sequences[b].count - 1) * v
                        var best = 0
                        for k in 1..<v where row[k] > row[best] { best = k }
                        if best == eos { finished[b] = true; continue }
                        generated[b].append(best)
                        sequences[b].append(best)
                    }
                }
                out += generated
                start += count
            }
        }
        return out
    }
}
