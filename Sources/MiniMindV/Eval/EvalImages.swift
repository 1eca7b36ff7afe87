// Images of the evaluated samples: checked once, decoded when a batch needs them, the blank
// (mean-colour) image of the set, and the seeded permutation of the shuffle ablation.
import Foundation

final class EvalImages {
    /// Sum of every checked image's pixel values per channel, and the pixel count.
    private var channelSums = [Double](repeating: 0, count: 3)
    private var pixelCount = 0
    private var checked = Set<String>()

    /// A stable identity: the file path, or a hash of the content.
    static func key(_ image: PromptImage) -> String {
        if case .file(let url) = image { return "file:" + url.path }
        return image.contentKey.map { "content:\($0)" } ?? "features"
    }

    /// Decodes a distinct picture once (throws when it cannot be read) and adds it to the mean
    /// colour; pixels and features pass (they take no part in the blank image's colour).
    func check(_ image: PromptImage) throws {
        guard checked.insert(Self.key(image)).inserted, let rgb = try image.decoded() else { return }
        var sums = [UInt64](repeating: 0, count: 3)
        for (k, v) in rgb.pixels.enumerated() { sums[k % 3] += UInt64(v) }
        for c in 0..<3 { channelSums[c] += Double(sums[c]) }
        pixelCount += rgb.width * rgb.height
    }

    /// A `size`×`size` image of the mean colour of the checked images (mid-grey when there are none).
    func blank(size: Int) throws -> RGBImage {
        let colour = (0..<3).map { c -> UInt8 in
            pixelCount == 0 ? 128 : UInt8(min(255, max(0, (channelSums[c] / Double(pixelCount)).rounded())))
        }
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for i in 0..<(size * size) { pixels[3 * i] = colour[0]; pixels[3 * i + 1] = colour[1]; pixels[3 * i + 2] = colour[2] }
        return try RGBImage(width: size, height: size, pixels: pixels)
    }

    /// Item i takes the images of item p[i]: a seeded shuffle among items with the same number of
    /// images, then every item that kept images identical to its own swaps with its neighbour in
    /// the group (so a question rarely sees its own image; with one distinct image it cannot avoid it).
    static func permutation(_ images: [[PromptImage]], seed: UInt64) -> [Int] {
        var p = Array(images.indices)
        let keys = images.map { $0.map(key).joined(separator: "|") }
        var groups: [Int: [Int]] = [:]
        for (i, list) in images.enumerated() where !list.isEmpty { groups[list.count, default: []].append(i) }
        var g = SeededGenerator(seed: seed)
        for count in groups.keys.sorted() {
            let members = groups[count]!
            var order = members
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(g.next() % UInt64(i + 1))) }
            for j in order.indices where keys[order[j]] == keys[members[j]] && order.count > 1 {
                order.swapAt(j, (j + 1) % order.count)
            }
            for (j, m) in members.enumerated() { p[m] = order[j] }
        }
        return p
    }
}
