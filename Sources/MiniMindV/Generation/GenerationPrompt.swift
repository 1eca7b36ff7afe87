import Foundation

/// A tokenised prompt and the images for its placeholder runs, in order. Made by
/// `PromptAssembler` (`Generator.chatPrompt`, `Generator.assembler`), which also fills
/// `imageSlots`; a prompt made from ids is checked by the generator with the same rule.
public struct GenerationPrompt: Sendable {
    public var ids: [Int]
    public var images: [PromptImage]
    /// Where each image's placeholder run sits in `ids`, one range per image, in order.
    public var imageSlots: [Range<Int>]

    public init(ids: [Int], images: [PromptImage] = [], imageSlots: [Range<Int>] = []) {
        self.ids = ids
        self.images = images
        self.imageSlots = imageSlots
    }
}
