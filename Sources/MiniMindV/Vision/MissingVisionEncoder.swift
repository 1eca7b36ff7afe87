import Foundation

/// Stands in for the vision tower of a model loaded without its vision folder, for text-only use:
/// it has the configured output size (so the projector loads) and refuses images with a message
/// that names what to add. `MiniMindVLM.preprocess` checks it before any image is touched.
public final class MissingVisionEncoder: VisionEncoder {
    public let outputTokens: Int
    public let outputDim: Int
    public let preprocessing: ImagePreprocessing

    public init(config: VisionConfig) {
        outputTokens = config.outputTokens
        outputDim = config.hiddenSize
        preprocessing = config.kind == .clip ? .clip224 : .siglip256
    }

    public static let message = "this model was loaded without a vision encoder, so it takes text only: for images give the vision folder (--vision DIR with --weights, or a model folder with vision/)"

    public func encode(_ pixels: Tensor) -> Tensor {
        preconditionFailure("MissingVisionEncoder.encode: images must go through MiniMindVLM.preprocess, which refuses them")
    }
}
