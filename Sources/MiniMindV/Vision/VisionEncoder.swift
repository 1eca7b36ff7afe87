import Foundation

/// Pixels [N, 3, H, W] → features [N, tokens, dim]. Declares the preprocessing its pixels need.
/// MiniMind-V keeps the vision encoder frozen; a user-supplied encoder plugs in through this protocol.
public protocol VisionEncoder: AnyObject {
    var outputTokens: Int { get }
    var outputDim: Int { get }
    var preprocessing: ImagePreprocessing { get }
    func encode(_ pixels: Tensor) -> Tensor
}
