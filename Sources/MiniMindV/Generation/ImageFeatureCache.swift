import Foundation

/// Projected image features [1, tokens, hidden] keyed by image content (`ChatImage.key`), the oldest
/// evicted beyond `limit`: the same image asked about again — by the same client or another —
/// skips the vision encoder. Not thread-safe: one owner at a time.
public final class ImageFeatureCache {
    public var limit: Int
    private var features: [UInt64: Tensor] = [:]
    private var order: [UInt64] = []
    /// Images served from the cache / encoded, since creation.
    public private(set) var hits = 0, misses = 0

    public init(limit: Int = 16) { self.limit = limit }

    public var count: Int { features.count }

    /// Features [N, tokens, hidden] of `images` in order, encoding only those not cached (each
    /// distinct image once). Updates `stats.images` and `stats.cachedImages`.
    public func features(for images: [ChatImage], generator: Generator, stats: inout GenerationStats) throws -> Tensor? {
        guard !images.isEmpty else { return nil }
        var missing: [ChatImage] = []
        for image in images where features[image.key] == nil && !missing.contains(where: { $0.key == image.key }) {
            missing.append(image)
        }
        var fresh: [UInt64: Tensor] = [:]
        if !missing.isEmpty {
            let computed = try generator.projectedFeatures(missing.map(\.image), stats: &stats)
            for (i, image) in missing.enumerated() {
                let tensor = computed.slice(axis: 0, i..<(i + 1)).copy()
                fresh[image.key] = tensor
                remember(tensor, for: image.key)
            }
        }
        hits += images.count - missing.count
        misses += missing.count
        stats.images = images.count
        stats.cachedImages = images.count - missing.count
        // `fresh` covers images evicted again by a small limit within this call.
        return Tensor.concat(images.compactMap { fresh[$0.key] ?? features[$0.key] }, axis: 0)
    }

    private func remember(_ tensor: Tensor, for key: UInt64) {
        features[key] = tensor
        order.append(key)
        while order.count > max(limit, 0) { features[order.removeFirst()] = nil }
    }
}
