// Sizes taken from the data when the settings leave them open: the tower's input size and patch
// from the images, the language model's positions from the longest sample.
import Foundation

public enum ScratchSizing {
    /// (image size, patch size). Without a set image size: the median shorter side of up to 64
    /// training images, at most `maxImageSize`, rounded down to a whole number of patches.
    public static func image(_ settings: ScratchSettings, data: ScratchData) throws -> (size: Int, patch: Int) {
        var size = settings.imageSize
        if size == nil {
            var sides: [Int] = []
            for row in data.train.prefix(64) {
                guard let image = row.images.first else { continue }
                do {
                    if let picture = try image.decoded() { sides.append(min(picture.width, picture.height)) }
                } catch {
                    continue  // a bad image costs its row later, not the size
                }
            }
            guard !sides.isEmpty else { throw ScratchError.data("no training image could be decoded to choose the image size (set ScratchSettings.imageSize)") }
            size = min(settings.maxImageSize, sides.sorted()[sides.count / 2])
        }
        guard var side = size else { throw ScratchError.data("no image size") }
        let patch: Int
        if let p = settings.patchSize {
            patch = p
            if settings.imageSize == nil { side = max(p, side / p * p) }
        } else {
            side = max(settings.grid * 2, side / settings.grid * settings.grid)
            patch = side / settings.grid
        }
        guard side % patch == 0, side >= patch else {
            throw InputRangeError(field: "ScratchSettings.patchSize", value: "\(patch)", allowed: "a divisor of the image size \(side)")
        }
        return (side, patch)
    }

    /// Positions for the longest of `lengths` (token counts of whole samples, image runs included)
    /// plus room for an answer, rounded up to a multiple of 32; at least 64.
    public static func positions(longest: Int) -> Int {
        max(64, (longest + 32 + 31) / 32 * 32)
    }
}
