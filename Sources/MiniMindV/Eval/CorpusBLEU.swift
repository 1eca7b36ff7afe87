// Corpus BLEU as sacrebleu 2.x computes it with its defaults: 13a tokens, mixed case, n-gram
// counts clipped by the maximum count over the sample's references, the closest reference length
// (ties: the shorter), brevity penalty over the corpus, 'exp' smoothing (an order with no match
// gets precision 1 / (2^k · total), k counting such orders), no effective order.
import Foundation

/// The sufficient statistics of corpus BLEU up to order 4.
public struct BLEUStatistics: Sendable, Equatable {
    public var hypothesisLength = 0
    public var referenceLength = 0
    public var correct = [Int](repeating: 0, count: 4)
    public var total = [Int](repeating: 0, count: 4)

    public init() {}

    /// Adds one sample: a hypothesis and its references (at least one).
    public mutating func add(hypothesis: String, references: [String]) {
        precondition(!references.isEmpty, "BLEU: a sample needs at least one reference")
        let hyp = BLEUTokenizer13a.tokens(hypothesis)
        var maxRef: [[EvalToken]: Int] = [:]
        var lengths: [Int] = []
        for r in references {
            let tokens = BLEUTokenizer13a.tokens(r)
            lengths.append(tokens.count)
            for (g, c) in EvalText.ngramCounts(tokens, maxOrder: 4) { maxRef[g] = max(maxRef[g] ?? 0, c) }
        }
        // sacrebleu's _get_closest_ref_len: smallest |hyp − ref|, ties to the shorter reference.
        var closest = lengths[0]
        for l in lengths.dropFirst() {
            let d = abs(hyp.count - l), best = abs(hyp.count - closest)
            if d < best || (d == best && l < closest) { closest = l }
        }
        hypothesisLength += hyp.count
        referenceLength += closest
        for (g, c) in EvalText.ngramCounts(hyp, maxOrder: 4) {
            total[g.count - 1] += c
            if let r = maxRef[g] { correct[g.count - 1] += min(c, r) }
        }
    }

    /// BLEU with n-grams up to `maxOrder` (1…4), in [0, 1] (sacrebleu's score / 100).
    public func score(maxOrder: Int) -> Double {
        precondition((1...4).contains(maxOrder), "BLEU: maxOrder must be 1…4, got \(maxOrder)")
        var bp = 1.0
        if hypothesisLength < referenceLength {
            bp = hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
        }
        guard correct[0..<maxOrder].contains(where: { $0 != 0 }) else { return 0 }
        var precisions = [Double](repeating: 0, count: maxOrder)
        var smooth = 1.0
        for n in 0..<maxOrder {
            if total[n] == 0 { break }
            if correct[n] == 0 {
                smooth *= 2
                precisions[n] = 100 / (smooth * Double(total[n]))
            } else {
                precisions[n] = 100 * Double(correct[n]) / Double(total[n])
            }
        }
        // sacrebleu's my_log floors log(0) at -9999999999 (an order with no n-grams at all).
        let logSum = precisions.reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : log($1)) }
        return bp * exp(logSum / Double(maxOrder)) / 100
    }
}

public enum CorpusBLEU {
    /// BLEU-1…4 of a corpus: `references[i]` are the references of `hypotheses[i]` (one or more).
    public static func scores(hypotheses: [String], references: [[String]]) -> [Double] {
        precondition(hypotheses.count == references.count, "BLEU: \(hypotheses.count) hypotheses, \(references.count) reference lists")
        var stats = BLEUStatistics()
        for (h, r) in zip(hypotheses, references) { stats.add(hypothesis: h, references: r) }
        return (1...4).map { stats.score(maxOrder: $0) }
    }
}
