// Answer accuracy: exact match after the VQA normalisation, and the official VQA soft accuracy.
import Foundation

public enum VQAAccuracy {
    /// True when the normalised prediction equals the normalised form of any reference.
    public static func exactMatch(prediction: String, references: [String]) -> Bool {
        let p = EvalText.scalars(VQAAnswerNormalizer.normalize(prediction))
        return references.contains { EvalText.scalars(VQAAnswerNormalizer.normalize($0)) == p }
    }

    /// The official VQA accuracy of one prediction against its human answers (VQA has 10): for each
    /// answer left out in turn, min(#other answers equal to the prediction / 3, 1); the mean over
    /// the leave-one-out subsets. As the official code does, the prediction is fully normalised and
    /// the references only have their punctuation processed, and only when they are not all the same.
    /// A single reference always scores 0 (no other answer can agree); use `exactMatch` there.
    public static func softAccuracy(prediction: String, references: [String]) -> Double {
        guard !references.isEmpty else { return 0 }
        let cleaned = VQAAnswerNormalizer.cleaned(EvalText.scalars(prediction))
        let p = VQAAnswerNormalizer.digitsAndArticles(VQAAnswerNormalizer.punctuation(cleaned))
        var refs = references.map(EvalText.scalars)
        if Set(refs.map { $0.map(\.value) }).count > 1 { refs = refs.map(VQAAnswerNormalizer.punctuation) }
        let matches = refs.map { $0 == p }
        let total = matches.filter { $0 }.count
        var sum = 0.0
        for m in matches {
            let others = total - (m ? 1 : 0)
            sum += min(1, Double(others) / 3)
        }
        return sum / Double(refs.count)
    }
}
