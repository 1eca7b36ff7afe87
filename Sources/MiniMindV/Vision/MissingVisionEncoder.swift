import Foundation

/// Stands in for the vision tower of a model loaded without its vision folder, for text-only use:
/// it has the configured output size (so the projector loads) and refuses images with
/// `ModelError.noVisionEncoder` in `preprocess`, before any image is touched.
public final class MissingVisionEncoder: Module, VisionEncoder {
    public let outputTokens: Int
    public let outputDim: Int
    public let preprocessing: ImagePreprocessing

    public init(config: VisionConfig) {
        outputTokens = config.outputTokens
        outputDim = config.hiddenSize
        preprocessing = config.kind == .clip ? .clip224 : .siglip256
        super.init()
    }

    public func preprocess(_ images: [RGBImage]) throws -> Tensor { throw ModelError.noVisionEncoder }

    public var takesImages: Bool { false }

    public func encode(_ pixels: Tensor) -> Tensor {
        preconditionFailure("MissingVisionEncoder.encode: images must go through preprocess, which refuses them")
    }
}
