import Foundation
import MiniMindV

/// The cost of `--compute bf16` against float32 on the same inputs: the vision tower's features for
/// one image and the logits of every position of a prompt. Measured by `bench model --compute bf16`.
public struct ComputeAccuracy: Codable, Sendable {
    public var precision: String
    /// Largest |feature(bf16) − feature(f32)| and largest |feature(f32)|, over [tokens × width].
    public var maxAbsFeatureDiff: Double, maxAbsFeature: Double
    /// ‖features(bf16) − features(f32)‖ / ‖features(f32)‖.
    public var relativeFeatureError: Double
    public var promptTokens: Int
    /// Largest |logit(bf16) − logit(f32)| and largest |logit(f32)|, over every position and id.
    public var maxAbsLogitDiff: Double, maxAbsLogit: Double
    /// Positions whose argmax equals float32's, as a fraction.
    public var argmaxAgreement: Double

    enum CodingKeys: String, CodingKey {
        case precision
        case maxAbsFeatureDiff = "max_abs_feature_diff", maxAbsFeature = "max_abs_feature"
        case relativeFeatureError = "relative_feature_error", promptTokens = "prompt_tokens"
        case maxAbsLogitDiff = "max_abs_logit_diff", maxAbsLogit = "max_abs_logit", argmaxAgreement = "argmax_agreement"
    }

    /// Runs the model in float32 and in `precision` (then restores the setting).
    public static func measure(_ model: MiniMindVLM, precision: ComputePrecision, pixels: Tensor, ids: [Int]) -> ComputeAccuracy {
        let lm = model.language
        func run() -> ([Float], [Float]) {
            noGrad {
                let f = model.visionFeatures(pixels)
                let logits = lm.logits(embeddings: lm.embed(ids, batch: 1))
                return (Array(UnsafeBufferPointer(start: f.pointer, count: f.count)),
                        Array(UnsafeBufferPointer(start: logits.pointer, count: logits.count)))
            }
        }
        let (f32Features, f32Logits) = Compute.withPrecision(.f32, run)
        let (features, logits) = Compute.withPrecision(precision, run)
        var maxF = 0.0, maxFD = 0.0, sq = 0.0, sqd = 0.0
        for (x, y) in zip(f32Features, features) {
            maxF = max(maxF, Double(abs(x))); maxFD = max(maxFD, Double(abs(x - y)))
            sq += Double(x) * Double(x); sqd += Double(x - y) * Double(x - y)
        }
        var maxL = 0.0, maxLD = 0.0, agree = 0
        let vocab = lm.config.vocabSize
        for t in 0..<ids.count {
            let a = f32Logits[(t * vocab)..<((t + 1) * vocab)], b = logits[(t * vocab)..<((t + 1) * vocab)]
            for (x, y) in zip(a, b) { maxL = max(maxL, Double(abs(x))); maxLD = max(maxLD, Double(abs(x - y))) }
            if a.indices.max(by: { a[$0] < a[$1] }) == b.indices.max(by: { b[$0] < b[$1] }) { agree += 1 }
        }
        return ComputeAccuracy(precision: precision.rawValue, maxAbsFeatureDiff: maxFD, maxAbsFeature: maxF,
                               relativeFeatureError: (sqd / max(sq, .leastNormalMagnitude)).squareRoot(),
                               promptTokens: ids.count, maxAbsLogitDiff: maxLD, maxAbsLogit: maxL,
                               argmaxAgreement: Double(agree) / Double(max(ids.count, 1)))
    }
}
