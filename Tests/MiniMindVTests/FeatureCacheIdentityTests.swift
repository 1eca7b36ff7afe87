import XCTest
@testable import MiniMindV

/// The feature cache's folder is the encoder's identity: its fingerprint (config and weights) with
/// the preprocessing, never its Swift type. Two checkpoints of one encoder type must not share
/// features; the same checkpoint loaded twice must.
final class FeatureCacheIdentityTests: XCTestCase {
    static func vit(seed: UInt64 = 4, activation: VisionConfig.Activation = .quickGelu, eps: Float = 1e-5,
                    rescale: Double = 1.0 / 255) throws -> ViTVisionEncoder {
        let config = VisionConfig(kind: .clip, hiddenSize: 24, intermediateSize: 48, numHiddenLayers: 1, numAttentionHeads: 2,
                                  imageSize: 24, patchSize: 8, layerNormEps: eps, activation: activation)
        let pre = ImagePreprocessing(kind: .clip, resize: .exact(width: 24, height: 24), resample: .bilinear, crop: nil,
                                     rescaleFactor: rescale, mean: ImagePreprocessing.clipMean, std: ImagePreprocessing.clipStd)
        return try ViTVisionEncoder(config: config, preprocessing: pre, seed: seed)
    }

    func testSameCheckpointSameIdentityOtherCheckpointOther() throws {
        let a = try Self.vit(seed: 4), again = try Self.vit(seed: 4)
        XCTAssertEqual(VisionFeatureCache.identity(of: a), VisionFeatureCache.identity(of: again))
        XCTAssertNotEqual(VisionFeatureCache.identity(of: a), VisionFeatureCache.identity(of: try Self.vit(seed: 5)),
                          "another checkpoint of the same type")
    }

    /// Equal weights under another configuration (an activation or epsilon the state dict does not
    /// hold) compute other features, so they get another identity; so does other preprocessing.
    func testConfigurationOutsideTheWeightsCounts() throws {
        let base = try Self.vit()
        let gelu = try Self.vit(activation: .gelu), eps = try Self.vit(eps: 1e-6)
        XCTAssertEqual(base.stateDict().map { $0.1.toArray() }, gelu.stateDict().map { $0.1.toArray() }, "same weights")
        XCTAssertNotEqual(base.fingerprint, gelu.fingerprint)
        XCTAssertNotEqual(base.fingerprint, eps.fingerprint)
        let rescaled = try Self.vit(rescale: 1.0 / 256)
        XCTAssertEqual(base.fingerprint, rescaled.fingerprint, "preprocessing is not the encoder's")
        XCTAssertNotEqual(VisionFeatureCache.identity(of: base), VisionFeatureCache.identity(of: rescaled))
    }

    /// The Swift type is not part of the key: an encoder reports its own fingerprint, and two types
    /// reporting the same one with the same preprocessing share a cache folder.
    func testIdentityIsTheFingerprintNotTheType() throws {
        let one = FixedFingerprintEncoder(fingerprint: "checkpoint-1"), same = OtherFixedFingerprintEncoder(fingerprint: "checkpoint-1")
        XCTAssertEqual(VisionFeatureCache.identity(of: one), VisionFeatureCache.identity(of: same))
        XCTAssertNotEqual(VisionFeatureCache.identity(of: one),
                          VisionFeatureCache.identity(of: FixedFingerprintEncoder(fingerprint: "checkpoint-2")))
    }
}

/// Encoders with no weights whose fingerprint names their (pretend) checkpoint.
class FixedFingerprintEncoder: Module, VisionEncoder {
    let fingerprint: String
    let preprocessing = ImagePreprocessing(resize: .exact(width: 8, height: 8), resample: .bilinear, crop: nil,
                                           rescaleFactor: 1.0 / 255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    var outputTokens: Int { 1 }
    var outputDim: Int { 2 }

    init(fingerprint: String) {
        self.fingerprint = fingerprint
        super.init()
    }

    func encode(_ pixels: Tensor) -> Tensor { Tensor.zeros([pixels.shape[0], 1, 2]) }
}

final class OtherFixedFingerprintEncoder: FixedFingerprintEncoder {}
