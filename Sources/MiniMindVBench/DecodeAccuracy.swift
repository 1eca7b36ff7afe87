import Foundation
import MiniMindV

/// The cost of a packed decode precision against float32 on one greedy generation: float32 picks the
/// ids; the packed model is then fed the same ids (teacher forcing) so every step compares logits
/// of the same context. A second, free-running packed generation shows how long the ids stay equal.
public struct DecodeAccuracy: Codable, Sendable {
    public var dtype: String
    public var steps: Int
    /// Largest |logit(packed) − logit(f32)| over all steps and vocabulary entries.
    public var maxAbsLogitDiff: Double
    /// Largest |logit(f32)| over the same logits, for scale.
    public var maxAbsLogit: Double
    /// Steps whose argmax equals float32's (teacher forced), as a fraction.
    public var argmaxAgreement: Double
    /// Leading ids of the free-running packed greedy generation equal to float32's.
    public var matchingPrefix: Int

    enum CodingKeys: String, CodingKey {
        case dtype, steps
        case maxAbsLogitDiff = "max_abs_logit_diff", maxAbsLogit = "max_abs_logit"
        case argmaxAgreement = "argmax_agreement", matchingPrefix = "matching_prefix"
    }

    /// Measures `dtype` on `lm` from `prompt` over `steps` greedy steps. Leaves `lm` decoding in `dtype`.
    public static func measure(_ lm: any LanguageModel, dtype: DecodeDType, prompt: [Int], steps: Int) -> DecodeAccuracy {
        lm.setDecodeDType(.f32)
        let reference = greedy(lm, prompt: prompt, steps: steps, forced: nil)
        lm.setDecodeDType(dtype)
        let forced = greedy(lm, prompt: prompt, steps: steps, forced: reference.ids)
        let free = greedy(lm, prompt: prompt, steps: steps, forced: nil)
        var maxDiff = 0.0, maxLogit = 0.0, agree = 0
        for (a, b) in zip(reference.logits, forced.logits) {
            for (x, y) in zip(a, b) {
                maxDiff = Swift.max(maxDiff, Double(abs(x - y)))
                maxLogit = Swift.max(maxLogit, Double(abs(x)))
            }
            if argmax(a) == argmax(b) { agree += 1 }
        }
        let prefix = zip(reference.ids, free.ids).prefix { $0 == $1 }.count
        return DecodeAccuracy(dtype: dtype.rawValue, steps: steps, maxAbsLogitDiff: maxDiff, maxAbsLogit: maxLogit,
                              argmaxAgreement: Double(agree) / Double(Swift.max(steps, 1)), matchingPrefix: prefix)
    }

    /// Greedy ids and the logits each was picked from; with `forced`, the next input is forced[i]
    /// instead of the argmax.
    private static func greedy(_ lm: any LanguageModel, prompt: [Int], steps: Int, forced: [Int]?) -> (ids: [Int], logits: [[Float]]) {
        let cache = lm.makeCache(batch: 1, maxLength: prompt.count + steps)
        var ids: [Int] = [], all: [[Float]] = []
        noGrad {
            var logits = lm.logits(embeddings: lm.embed(prompt, batch: 1), cache: cache, keyMask: nil, positions: .last)
            for i in 0..<steps {
                let row = Array(UnsafeBufferPointer(start: logits.pointer, count: logits.count))
                all.append(row)
                let next = argmax(row)
                ids.append(next)
                if i + 1 < steps {
                    let input = forced.map { $0[i] } ?? next
                    logits = lm.logits(embeddings: lm.embed([input], batch: 1), cache: cache, keyMask: nil, positions: .last)
                }
            }
        }
        return (ids, all)
    }

    static func argmax(_ row: [Float]) -> Int {
        var best = 0
        for i in row.indices where row[i] > row[best] { best = i }
        return best
    }
}
