import Foundation

/// A tokenised prompt and the images for its placeholder runs, in order.
public struct GenerationPrompt: Sendable {
    public var ids: [Int]
    public var images: [RGBImage]

    public init(ids: [Int], images: [RGBImage] = []) {
        self.ids = ids
        self.images = images
    }
}
