import Foundation

/// Projected image features [1, tokens, hidden] keyed by image content (`PromptImage.contentKey`),
/// the oldest evicted beyond `limit`: the same image asked about again — in a chat session, or by
/// another client of the server — skips the vision encoder. Images without a key (precomputed
/// features) are projected each time. Not thread-safe: one owner at a time.
public final class ImageFeatureCache {
    public var limit: Int
    private var features: [UInt64: Tensor] = [:]
    private var order: [UInt64] = []
    /// Images served from the cache / encoded, since creation.
    public private(set) var hits = 0, misses = 0

    public init(limit: Int = 16) { self.limit = limit }

    public var count: Int { features.count }

    /// Features [N, tokens, hidden] of `images` in order (nil for none), encoding only those not
    /// cached (each distinct image once). Sets `stats.images` and `stats.cachedImages`.
    public func features(for images: [PromptImage], generator: Generator, stats: inout GenerationStats) throws -> Tensor? {
        guard !images.isEmpty else { return nil }
        let keys = images.map(\.contentKey)
        var missing: [Int] = [], pending = Set<UInt64>()
        for (i, key) in keys.enumerated() {
            if let key, features[key] != nil || !pending.insert(key).inserted { continue }
            missing.append(i)
        }
        // `fresh` covers images evicted again by a small limit within this call, and unkeyed ones.
        var fresh: [Int: Tensor] = [:], freshByKey: [UInt64: Tensor] = [:]
        if !missing.isEmpty {
            let computed = try generator.projectedFeatures(missing.map { images[$0] }, stats: &stats)
            for (j, i) in missing.enumerated() {
                let tensor = computed.slice(axis: 0, j..<(j + 1)).copy()
                fresh[i] = tensor
                if let key = keys[i] {
                    freshByKey[key] = tensor
                    remember(tensor, for: key)
                }
            }
        }
        let cached = images.count - missing.count
        hits += cached
        misses += missing.count
        stats.images = images.count
        stats.cachedImages = cached
        return Tensor.concat(images.indices.compactMap { i in fresh[i] ?? keys[i].flatMap { freshByKey[$0] ?? features[$0] } }, axis: 0)
    }

    private func remember(_ tensor: Tensor, for key: UInt64) {
        features[key] = tensor
        order.append(key)
        while order.count > max(limit, 0) { features[order.removeFirst()] = nil }
    }
}
