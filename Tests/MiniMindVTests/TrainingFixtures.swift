import Foundation
import XCTest
@testable import MiniMindV

/// Reads Tests/Fixtures/training (Scripts/gen_training_fixtures.py) and builds the tiny models.
enum TrainingFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/training")
    static let assets = UpstreamAssets.folder

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func cases() throws -> [String: [String: Any]] {
        (try JSONSerialization.jsonObject(with: Data(contentsOf: url("training_cases.json"))) as? [String: [String: Any]]) ?? [:]
    }

    /// The tiny VLM of a fixture kind ("vlm2" Llama + Linear, "vlm3" Qwen3 + MLP) with the script's weights.
    static func model(kind: String, lmConfig: Any) throws -> MiniMindVLM {
        var lm = try JSONDecoder().decode(LanguageModelConfig.self, from: JSONSerialization.data(withJSONObject: lmConfig))
        let isV2 = kind.hasPrefix("vlm2")  // "vlm2", "vlm2moe" (else "vlm3", "vlm3moe")
        lm.qkNorm = !isV2
        // A 3×3-patch vision tower gives 9 tokens of width 24; training only sees its (fixture) features.
        let vision = VisionConfig(kind: isV2 ? .clip : .siglip, hiddenSize: 24, intermediateSize: 48, numHiddenLayers: 1,
                                  numAttentionHeads: 2, imageSize: 24, patchSize: 8, layerNormEps: 1e-5,
                                  activation: isV2 ? .quickGelu : .geluTanh)
        let config = VLMConfig(language: lm, vision: vision, projector: isV2 ? .linear : .mlp,
                               imagePlaceholder: isV2 ? "@" : "<|image_pad|>", imageTokenId: isV2 ? 34 : 12)
        let vlm = try MiniMindVLM(config: config)
        try vlm.loadReleaseWeights(try Safetensors.read(url("\(kind)_weights.safetensors")))
        return vlm
    }

    static func tensor(_ name: String) throws -> Tensor { try NPYFile.read(url(name)).toTensor() }
    static func ints(_ name: String) throws -> [Int] { try NPYFile.read(url(name)).int64Values().map { Int($0) } }

    /// The samples of micro-batch `m` of a case: padding removed (the trainer trims anyway), images as features.
    static func samples(case name: String, micro m: Int, sampleImages: [[Int]]) throws -> [TrainingSample] {
        let ids = try ints("\(name)_batch\(m)_ids.npy"), labels = try ints("\(name)_batch\(m)_labels.npy")
        let feats = try tensor("\(name)_batch\(m)_features.npy")
        let b = sampleImages.count, l = ids.count / b
        return (0..<b).map { s in
            let row = Array(ids[(s * l)..<((s + 1) * l)])
            let real = (row.lastIndex { $0 != 0 } ?? 0) + 1
            let images: [PromptImage] = sampleImages[s].map { i in
                .features(feats.slice(axis: 0, i..<(i + 1)).reshaped([feats.shape[1], feats.shape[2]]).copy())
            }
            return TrainingSample(ids: Array(row.prefix(real)), labels: Array(labels[(s * l)..<(s * l + real)]),
                                  images: images, name: "\(name) batch \(m) sample \(s)")
        }
    }
}
