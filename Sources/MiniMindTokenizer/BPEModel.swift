// The BPE model of tokenizer.json: vocabulary, merges by rank, and HF's merge loop (a min-heap of
// candidate merges ordered by (rank, position) over a linked list of symbols).
import Foundation

struct MergeInfo {
    var rank: Int32
    var newID: Int32
}

final class BPEModel: @unchecked Sendable {
    let vocab: [String: Int]
    let idToToken: [Int: String]
    /// (left id, right id) packed as left << 32 | right.
    let merges: [UInt64: MergeInfo]
    /// Vocab id of each byte's one-scalar token, or -1 when the vocabulary lacks it.
    let byteTokenID: [Int32]
    let unkID: Int32?
    let fuseUnk: Bool
    let ignoreMerges: Bool

    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLock = NSLock()
    private let cacheCapacity = 100_000

    init(vocab: [String: Int], merges: [(String, String)], unkToken: String?, fuseUnk: Bool, ignoreMerges: Bool,
         path: String) throws {
        self.vocab = vocab
        var reverse = [Int: String](minimumCapacity: vocab.count)
        for (token, id) in vocab { reverse[id] = token }
        idToToken = reverse
        var table = [UInt64: MergeInfo](minimumCapacity: merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[a] else { throw TokenizerError.unknownMergeToken(path: path, mergeIndex: rank, token: a) }
            guard let ib = vocab[b] else { throw TokenizerError.unknownMergeToken(path: path, mergeIndex: rank, token: b) }
            guard let inew = vocab[a + b] else {
                throw TokenizerError.unknownMergeToken(path: path, mergeIndex: rank, token: a + b)
            }
            table[Self.key(Int32(ia), Int32(ib))] = MergeInfo(rank: Int32(rank), newID: Int32(inew))
        }
        self.merges = table
        byteTokenID = ByteLevelAlphabet.byteToScalar.map { s in
            vocab[String(Character(s))].map { Int32($0) } ?? -1
        }
        if let unk = unkToken {
            guard let id = vocab[unk] else { throw TokenizerError.unknownToken(path: path, key: "model.unk_token", token: unk) }
            unkID = Int32(id)
        } else {
            unkID = nil
        }
        self.fuseUnk = fuseUnk
        self.ignoreMerges = ignoreMerges
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Token ids of one pre-tokenized word given as raw UTF-8 bytes.
    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into out: inout [Int]) {
        let key = Array(p[range])
        cacheLock.lock()
        let hit = cache[key]
        cacheLock.unlock()
        if let hit = hit {
            for id in hit { out.append(Int(id)) }
            return
        }
        let ids = merge(key)
        cacheLock.lock()
        if cache.count < cacheCapacity { cache[key] = ids }
        cacheLock.unlock()
        for id in ids { out.append(Int(id)) }
    }

    /// HF `BPE::merge_word` + `Word::merge_all` for one word.
    func merge(_ bytes: [UInt8]) -> [Int32] {
        if ignoreMerges, let id = vocab[ByteLevelAlphabet.encode(bytes)] { return [Int32(id)] }
        // Initial symbols: one per byte; bytes missing from the vocab become unk (or vanish).
        var ids: [Int32] = []
        ids.reserveCapacity(bytes.count)
        var pendingUnk = false
        for b in bytes {
            let id = byteTokenID[Int(b)]
            if id >= 0 {
                ids.append(id)
                pendingUnk = false
            } else if let unk = unkID {
                if !(fuseUnk && pendingUnk) { ids.append(unk) }
                pendingUnk = true
            }
        }
        let n = ids.count
        if n < 2 { return ids }
        var prev = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        var alive = [Bool](repeating: true, count: n)
        for k in 0..<n {
            prev[k] = Int32(k - 1)
            next[k] = k + 1 < n ? Int32(k + 1) : -1
        }
        var heap = MergeHeap()
        for k in 0..<(n - 1) {
            if let m = merges[Self.key(ids[k], ids[k + 1])] {
                heap.push(MergeCandidate(rank: m.rank, pos: Int32(k), newID: m.newID))
            }
        }
        while let top = heap.pop() {
            let pos = Int(top.pos)
            if !alive[pos] || next[pos] < 0 { continue }
            let right = Int(next[pos])
            guard let m = merges[Self.key(ids[pos], ids[right])], m.newID == top.newID else { continue }
            ids[pos] = top.newID
            alive[right] = false
            let after = next[right]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let before = prev[pos]
            if before >= 0, let pm = merges[Self.key(ids[Int(before)], ids[pos])] {
                heap.push(MergeCandidate(rank: pm.rank, pos: before, newID: pm.newID))
            }
            if after >= 0, let nm = merges[Self.key(ids[pos], ids[Int(after)])] {
                heap.push(MergeCandidate(rank: nm.rank, pos: Int32(pos), newID: nm.newID))
            }
        }
        var result: [Int32] = []
        result.reserveCapacity(n)
        var k: Int32 = 0
        while k >= 0 {
            result.append(ids[Int(k)])
            k = next[Int(k)]
        }
        return result
    }
}

struct MergeCandidate {
    var rank: Int32
    var pos: Int32
    var newID: Int32

    @inline(__always)
    func precedes(_ o: MergeCandidate) -> Bool { rank != o.rank ? rank < o.rank : pos < o.pos }
}

/// Binary min-heap on (rank, pos).
struct MergeHeap {
    private var items: [MergeCandidate] = []

    mutating func push(_ c: MergeCandidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !items[i].precedes(items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> MergeCandidate? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < n && items[l].precedes(items[best]) { best = l }
            if r < n && items[r].precedes(items[best]) { best = r }
            if best == i { break }
            items.swapAt(i, best)
            i = best
        }
        return first
    }
}
