// CIDEr-D as pycocoevalcap's `Cider` scorer computes it (n = 1…4, σ = 6): TF-IDF n-gram vectors
// with document frequencies counted over the references of the evaluated set (one document per
// sample), clipped similarity min(h, r)·r divided by the norms, a Gaussian length penalty on the
// difference of the bigram counts (pycocoevalcap's "length"), mean over n and references, × 10.
import Foundation

public enum CIDErD {
    /// Our tokenisation (not pycocoevalcap's Java PTB tokenizer): each code point lower-cased; every
    /// code point that is not a letter (L*), a number (N*) or '_' becomes a space; split on spaces.
    public static func tokens(_ text: String) -> [EvalToken] {
        let mapped = EvalText.lower(EvalText.scalars(text)).map { c -> Unicode.Scalar in
            c == "_" || isLetterOrNumber(c) ? c : " "
        }
        return EvalText.split(mapped)
    }

    static func isLetterOrNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Corpus CIDEr-D (mean over samples) and each sample's score. Every sample needs at least one reference.
    public static func scores(hypotheses: [String], references: [[String]], n: Int = 4, sigma: Double = 6)
        -> (mean: Double, perSample: [Double]) {
        precondition(hypotheses.count == references.count, "CIDEr-D: \(hypotheses.count) hypotheses, \(references.count) reference lists")
        guard !hypotheses.isEmpty else { return (0, []) }
        let hyps = hypotheses.map { EvalText.ngramCounts(tokens($0), maxOrder: n) }
        let refs = references.map { list -> [[[EvalToken]: Int]] in
            precondition(!list.isEmpty, "CIDEr-D: a sample needs at least one reference")
            return list.map { EvalText.ngramCounts(tokens($0), maxOrder: n) }
        }
        var documentFrequency: [[EvalToken]: Double] = [:]
        for sample in refs {
            var seen = Set<[EvalToken]>()
            for r in sample { seen.formUnion(r.keys) }
            for g in seen { documentFrequency[g, default: 0] += 1 }
        }
        let refLen = log(Double(refs.count))

        struct Vector { var weights: [[[EvalToken]: Double]]; var norms: [Double]; var length: Int }
        func vector(_ counts: [[EvalToken]: Int]) -> Vector {
            var v = Vector(weights: Array(repeating: [:], count: n), norms: Array(repeating: 0, count: n), length: 0)
            for (g, tf) in counts {
                let df = log(max(1.0, documentFrequency[g] ?? 0))
                let k = g.count - 1
                let w = Double(tf) * (refLen - df)
                v.weights[k][g] = w
                v.norms[k] += w * w
                if k == 1 { v.length += tf }
            }
            v.norms = v.norms.map { $0.squareRoot() }
            return v
        }
        func similarity(_ h: Vector, _ r: Vector) -> [Double] {
            let delta = Double(h.length - r.length)
            return (0..<n).map { k in
                var val = 0.0
                for (g, w) in h.weights[k] {
                    let rw = r.weights[k][g] ?? 0
                    val += min(w, rw) * rw
                }
                if h.norms[k] != 0 && r.norms[k] != 0 { val /= h.norms[k] * r.norms[k] }
                return val * exp(-(delta * delta) / (2 * sigma * sigma))
            }
        }

        var perSample: [Double] = []
        for (h, rs) in zip(hyps, refs) {
            let hv = vector(h)
            var sum = [Double](repeating: 0, count: n)
            for r in rs {
                let s = similarity(hv, vector(r))
                for k in 0..<n { sum[k] += s[k] }
            }
            perSample.append(sum.reduce(0, +) / Double(n) / Double(rs.count) * 10)
        }
        return (perSample.reduce(0, +) / Double(perSample.count), perSample)
    }
}
