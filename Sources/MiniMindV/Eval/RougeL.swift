// ROUGE-L F-measure as rouge-score 0.1.2 computes it with its defaults (RougeScorer(['rougeL']),
// use_stemmer=False): text lower-cased, every run of characters outside [a-z0-9] is a separator
// (so non-ASCII letters are dropped), LCS over the tokens, F = 2PR/(P+R). With several references
// the best F counts (`score_multi`); the corpus value is the mean over samples.
import Foundation

public enum RougeL {
    /// rouge-score's default tokens (no stemming): maximal runs of a-z / 0-9 after lower-casing.
    public static func tokens(_ text: String) -> [EvalToken] {
        var out: [EvalToken] = [], current: EvalToken = []
        for c in EvalText.lower(EvalText.scalars(text)) {
            if (97...122).contains(c.value) || (48...57).contains(c.value) {
                current.append(c)
            } else if !current.isEmpty {
                out.append(current)
                current = []
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// F-measure of one prediction against one reference (0 when either has no tokens).
    public static func fMeasure(prediction: String, reference: String) -> Double {
        let p = tokens(prediction), r = tokens(reference)
        guard !p.isEmpty, !r.isEmpty else { return 0 }
        let lcs = Double(lcsLength(r, p))
        let precision = lcs / Double(p.count), recall = lcs / Double(r.count)
        return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
    }

    /// The best F-measure over the references.
    public static func fMeasure(prediction: String, references: [String]) -> Double {
        references.map { fMeasure(prediction: prediction, reference: $0) }.max() ?? 0
    }

    /// Mean over samples of each sample's best F-measure.
    public static func score(hypotheses: [String], references: [[String]]) -> (mean: Double, perSample: [Double]) {
        precondition(hypotheses.count == references.count, "ROUGE-L: \(hypotheses.count) hypotheses, \(references.count) reference lists")
        let per = zip(hypotheses, references).map { fMeasure(prediction: $0, references: $1) }
        return (per.isEmpty ? 0 : per.reduce(0, +) / Double(per.count), per)
    }

    static func lcsLength(_ a: [EvalToken], _ b: [EvalToken]) -> Int {
        var previous = [Int](repeating: 0, count: b.count + 1), row = previous
        for x in a {
            for (j, y) in b.enumerated() {
                row[j + 1] = x == y ? previous[j] + 1 : max(previous[j + 1], row[j])
            }
            swap(&previous, &row)
        }
        return previous[b.count]
    }
}
