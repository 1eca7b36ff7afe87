import Foundation

/// Keys and values of prompt prefixes that earlier requests computed, so a request that begins with
/// the same tokens — the chat template's system turn, an earlier turn of the same chat — copies those
/// rows into its own cache and prefills only the rest (`ContinuousBatch`, Docs/Serving.md).
///
/// Positions are compared by token id and, inside an image's placeholder run, by the image's content
/// key (`PromptImage.contentKey`): prompts whose ids agree but whose pictures differ share only the
/// rows before that picture, and an image without a key (precomputed features) ends what can be
/// shared. The keys and values at a position depend only on the tokens up to it (causal attention,
/// RoPE at absolute positions), so the copied rows are the ones the request would compute itself, up
/// to the float rounding of differently batched products.
///
/// Bounded: the entries hold at most `tokenLimit` positions together, each entry exactly its own rows
/// (`byteCount`); the least recently used go first. Not thread-safe: one owner.
public final class PrefixCache {
    /// What a prompt holds at each position, for matching.
    public struct Key: Sendable {
        public let ids: [Int]
        /// Each image's placeholder run in `ids` and its content key (nil: never shared), in order.
        public let images: [(slot: Range<Int>, key: UInt64?)]

        public init(ids: [Int], images: [(slot: Range<Int>, key: UInt64?)] = []) {
            self.ids = ids
            self.images = images
        }

        /// The first `n` positions (`n` ≤ ids.count), cut before an image without a key.
        func prefix(_ n: Int) -> Key {
            var n = n
            if let unkeyed = images.first(where: { $0.key == nil && $0.slot.lowerBound < n }) { n = unkeyed.slot.lowerBound }
            return Key(ids: Array(ids.prefix(n)), images: images.filter { $0.slot.lowerBound < n })
        }

        /// How many leading positions `self` and `other` hold alike: equal ids, and in every image run
        /// that begins among them the same keyed image.
        func shared(with other: Key) -> Int {
            var n = 0
            let limit = min(ids.count, other.ids.count)
            while n < limit && ids[n] == other.ids[n] { n += 1 }
            // Equal ids up to n put the runs that begin before n at the same places in both; pair them
            // in order and stop at the first that is missing, moved, unkeyed or another picture.
            let mine = images.filter { $0.slot.lowerBound < n }, theirs = other.images.filter { $0.slot.lowerBound < n }
            for i in 0..<max(mine.count, theirs.count) {
                guard i < mine.count, i < theirs.count else { return min(n, (i < mine.count ? mine[i] : theirs[i]).slot.lowerBound) }
                let a = mine[i], b = theirs[i]
                guard a.slot.lowerBound == b.slot.lowerBound, let key = a.key, key == b.key else {
                    return min(n, a.slot.lowerBound, b.slot.lowerBound)
                }
            }
            return n
        }
    }

    private final class Entry {
        let key: Key
        let cache: KVCache
        var lastUse: Int

        init(key: Key, cache: KVCache, lastUse: Int) {
            self.key = key
            self.cache = cache
            self.lastUse = lastUse
        }
    }

    /// Most positions held by all entries together.
    public let tokenLimit: Int
    private var entries: [Entry] = []
    private var clock = 0
    /// Lookups that reused at least one position / none, and the positions reused, since creation.
    public private(set) var hits = 0, misses = 0, reusedTokens = 0

    public init(tokenLimit: Int) {
        precondition(tokenLimit >= 0, "PrefixCache: tokenLimit must be ≥ 0")
        self.tokenLimit = tokenLimit
    }

    public var count: Int { entries.count }
    /// Positions held (≤ `tokenLimit`).
    public var tokens: Int { entries.reduce(0) { $0 + $1.cache.length } }
    /// Bytes of the entries' key and value buffers.
    public var byteCount: Int { entries.reduce(0) { $0 + $1.cache.byteCount } }

    /// Copies the longest stored prefix of `key`, at most `limit` positions, into the empty `cache`
    /// and returns its length (0: nothing stored matches).
    public func restore(_ key: Key, into cache: KVCache, limit: Int) -> Int {
        precondition(cache.length == 0 && cache.batch == 1, "PrefixCache.restore: the cache must be empty, batch 1")
        let (best, length) = longest(key, limit: min(limit, cache.maxLength))
        guard let best, length > 0 else { misses += 1; return 0 }
        clock += 1
        best.lastUse = clock
        cache.copyPrefix(of: best.cache, count: length)
        hits += 1
        reusedTokens += length
        return length
    }

    /// How many leading positions of `key` (at most `limit`) `restore` would copy now; changes nothing.
    public func match(_ key: Key, limit: Int) -> Int { longest(key, limit: limit).length }

    private func longest(_ key: Key, limit: Int) -> (entry: Entry?, length: Int) {
        var best: Entry?, length = 0
        for entry in entries {
            let n = min(entry.key.shared(with: key), limit)
            if n > length { best = entry; length = n }
        }
        return (best, length)
    }

    /// Stores the first `length` positions of `cache` as the rows of `key`'s first `length` positions
    /// (cut before an unkeyed image, and to `tokenLimit`). An entry that already holds them is kept
    /// instead; entries the new one extends are dropped; then the least recently used go until the
    /// bound holds.
    public func insert(_ key: Key, from cache: KVCache, length: Int) {
        precondition(length <= min(key.ids.count, cache.length) && cache.batch == 1,
                     "PrefixCache.insert: \(length) positions, key \(key.ids.count), cache \(cache.length)")
        let stored = key.prefix(min(length, tokenLimit))
        let n = stored.ids.count
        guard n > 0 else { return }
        clock += 1
        if let covering = entries.first(where: { $0.key.shared(with: stored) == n }) {
            covering.lastUse = clock
            return
        }
        entries.removeAll { $0.key.shared(with: stored) == $0.key.ids.count }
        let copy = KVCache(layers: cache.keys.count, batch: 1, kvHeads: cache.kvHeads, headDim: cache.headDim, maxLength: n)
        copy.copyPrefix(of: cache, count: n)
        entries.append(Entry(key: stored, cache: copy, lastUse: clock))
        var held = tokens
        while held > tokenLimit, let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse }) {
            held -= entries[oldest].cache.length
            entries.remove(at: oldest)
        }
    }

    /// Drops every entry.
    public func removeAll() { entries.removeAll() }
}
