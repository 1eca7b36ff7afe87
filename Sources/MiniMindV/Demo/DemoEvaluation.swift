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

enum DemoEvaluation {
    /// Answers every test sample. `features`: the vision features [N, tokens, dim] the samples'
    /// `imageIndex` points into (a single row used for all when `imageIndex` is nil: the blank image).
    static func answer(vlm: MiniMindVLM, builder: DemoSampleBuilder, samples: [DemoSample], imageIndex: [Int]?,
                       features: Tensor, maxNewTokens: Int = 4, batchSize: Int = 128) throws -> [DemoAnswer] {
        let eos = builder.tokenizer.eosTokenID ?? 2
        var out: [DemoAnswer] = []
        try noGrad {
            var start = 0
            while start < samples.count {
                let chunk = Array(samples[start..<min(samples.count, start + batchSize)])
                let rows = imageIndex.map { Array($0[start..<(start + chunk.count)]) } ?? [Int](repeating: 0, count: chunk.count)
                let projected = vlm.project(indexSelect(features, axis: 0, indices: rows))
                var sequences = try chunk.map { try builder.prompt($0).ids }
                var generated = [[Int]](repeating: [], count: chunk.count)
                var finished = [Bool](repeating: false, count: chunk.count)
                for _ in 0..<maxNewTokens where finished.contains(false) {
                    let t = sequences.map(\.count).max() ?? 1
                    var ids = [Int](repeating: 0, count: chunk.count * t)
                    for (b, s) in sequences.enumerated() { for (i, id) in s.enumerated() { ids[b * t + i] = id } }
                    let logits = vlm.logits(ids: ids, batch: chunk.count, images: projected,
                                            imagesPerSample: (0..<chunk.count).map { [$0] })
                    let v = logits.shape[2]
                    let p = logits.pointer
                    for b in 0..<chunk.count where !finished[b] {
                        let row = p + (b * t + sequences[b].count - 1) * v
                        var best = 0
                        for k in 1..<v where row[k] > row[best] { best = k }
                        if best == eos { finished[b] = true; continue }
                        generated[b].append(best)
                        sequences[b].append(best)
                    }
                }
                for (b, s) in chunk.enumerated() {
                    let text = builder.tokenizer.decode(generated[b], skipSpecialTokens: true)
                    out.append(DemoAnswer(image: s.image, type: s.type ?? .shape,
                                          question: s.conversations[0].content.replacingOccurrences(of: "<image>\n", with: ""),
                                          expected: s.conversations[1].content,
                                          answer: text.trimmingCharacters(in: .whitespacesAndNewlines)))
                }
                start += chunk.count
            }
        }
        return out
    }
}
