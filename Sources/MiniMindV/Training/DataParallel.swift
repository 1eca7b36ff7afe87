import Foundation

/// The collectives data-parallel training is built from, over any `Communicator`: gradients averaged
/// in buckets, tensors and bytes broadcast from rank 0, and a check that every rank holds the same
/// weights. With one rank every function returns at once and changes nothing.
public enum DataParallel {
    /// Floats per allreduce: 4 Mi (16 MiB). Large enough that each call runs at the link's bandwidth,
    /// small enough that the staging buffer stays modest.
    public static let bucketElements = 1 << 22

    /// Replaces every gradient of `parameters` by its average over the ranks, `bucketElements` floats
    /// per allreduce. A parameter whose gradient is nil on every rank stays nil (AdamW then skips it,
    /// as one process would); nil on some ranks counts as zeros there. `extra` (e.g. the step's loss
    /// and token count) is summed in the same round.
    public static func averageGradients(_ parameters: [Tensor], extra: inout [Double], over c: any Communicator) throws {
        guard c.size > 1 else { return }
        // Round 1: which parameters have a gradient anywhere, plus the extra numbers.
        var header = parameters.map { $0.grad == nil ? 0.0 : 1.0 } + extra
        try header.withUnsafeMutableBufferPointer { try c.allreduceSum($0) }
        extra = Array(header[parameters.count...])
        let live = parameters.indices.filter { header[$0] > 0 }
        // Round 2: the gradients, packed back to back into buckets.
        let scale = 1 / Float(c.size)
        let bucket = UnsafeMutableBufferPointer<Float>.allocate(capacity: bucketElements)
        defer { bucket.deallocate() }
        var averaged = live.map { Tensor.zeros(parameters[$0].shape) }
        var pending: [(tensor: Int, from: Int, count: Int, at: Int)] = []
        var filled = 0
        func flush() throws {
            guard filled > 0 else { return }
            try c.allreduceSum(UnsafeMutableBufferPointer(rebasing: bucket[0..<filled]))
            for piece in pending {
                let target = averaged[piece.tensor].mutablePointer + piece.from
                for i in 0..<piece.count { target[i] = bucket[piece.at + i] * scale }
            }
            pending.removeAll(keepingCapacity: true)
            filled = 0
        }
        for (slot, index) in live.enumerated() {
            let p = parameters[index]
            var from = 0
            while from < p.count {
                if filled == bucketElements { try flush() }
                let n = min(p.count - from, bucketElements - filled)
                if let g = p.grad {
                    (bucket.baseAddress! + filled).update(from: g.pointer + from, count: n)
                } else {
                    (bucket.baseAddress! + filled).update(repeating: 0, count: n)
                }
                pending.append((slot, from, n, filled))
                filled += n
                from += n
            }
        }
        try flush()
        // Fresh tensors: a gradient may share storage with another tensor of the graph.
        for (slot, index) in live.enumerated() { parameters[index].grad = averaged[slot] }
        averaged.removeAll()
    }

    /// ZeRO-1: after each rank has updated its `shard` of the optimizer's `parameters`, every rank
    /// receives the other ranks' pieces, in rounds of `bucketElements` floats: in round k every rank
    /// copies the k-th `bucketElements / N` elements of its share into a flat buffer, one in-place
    /// all-gather fills in the other ranks' (back to back in rank order), and those are copied out.
    /// Every rank sends and receives in every round, so the ranks' copies run at the same time (a
    /// round of one rank's elements would leave the others waiting). A few large collectives
    /// instead of one per tensor: every collective is a meeting point of the ranks, and small ones
    /// pay Open MPI's per-message handshakes (Scripts/bench_mpi_allgather.c).
    public static func allgather(_ parameters: [Tensor], shard: OptimizerShard, over c: any Communicator) throws {
        precondition(parameters.count == shard.counts.count && zip(parameters, shard.counts).allSatisfy { $0.count == $1 },
                     "DataParallel.allgather: the tensors do not match the shard")
        guard c.size > 1, shard.totalElements > 0 else { return }
        let shares = (0..<c.size).map { shard.elements(ofRank: $0) }
        let perRank = max(1, bucketElements / c.size)
        let staging = UnsafeMutableBufferPointer<Float>.allocate(capacity: min(perRank * c.size, shard.totalElements))
        defer { staging.deallocate() }
        // Copies between the parameters and the buffer (from `at`) for the run's elements `range`.
        func copy(_ range: Range<Int>, at start: Int, toBuffer: Bool) {
            var at = start
            for (index, offset, count) in shard.segments(of: range) {
                let p = parameters[index].mutablePointer + offset, b = staging.baseAddress! + at
                if toBuffer { b.update(from: p, count: count) } else { p.update(from: b, count: count) }
                at += count
            }
        }
        let longest = shares.map(\.count).max() ?? 0
        for from in stride(from: 0, to: longest, by: perRank) {
            let pieces = shares.map { $0.lowerBound + min(from, $0.count)..<$0.lowerBound + min(from + perRank, $0.count) }
            var offsets = [0]
            for piece in pieces { offsets.append(offsets.last! + piece.count) }
            copy(pieces[c.rank], at: offsets[c.rank], toBuffer: true)
            try c.allgather(UnsafeMutableBufferPointer(rebasing: staging[0..<offsets[c.size]]), counts: pieces.map(\.count))
            for r in 0..<c.size where r != c.rank { copy(pieces[r], at: offsets[r], toBuffer: false) }
        }
    }

    /// Copies the values of `tensors` on rank `root` into the same tensors (same shapes) on every rank.
    public static func broadcast(_ tensors: [Tensor], root: Int = 0, over c: any Communicator) throws {
        guard c.size > 1 else { return }
        for t in tensors where t.count > 0 {
            var from = 0
            while from < t.count {  // MPI counts are 32-bit
                let n = min(t.count - from, 1 << 28)
                try c.broadcast(UnsafeMutableRawBufferPointer(start: t.mutablePointer + from, count: n * MemoryLayout<Float>.size), root: root)
                from += n
            }
        }
    }

    /// `bytes` of rank `root`, on every rank (the others pass anything, e.g. empty data).
    public static func broadcast(_ bytes: Data, root: Int = 0, over c: any Communicator) throws -> Data {
        guard c.size > 1 else { return bytes }
        var length = [Double(bytes.count)]
        try length.withUnsafeMutableBytes { try c.broadcast($0, root: root) }
        var buffer = c.rank == root ? bytes : Data(count: Int(length[0]))
        if !buffer.isEmpty { try buffer.withUnsafeMutableBytes { try c.broadcast($0, root: root) } }
        return buffer
    }

    /// Throws `CommunicatorError.replicasDiffer` on every rank unless all ranks hold bit-identical
    /// `tensors` (compared by a 64-bit hash per tensor against rank 0's).
    public static func checkReplicasEqual(_ named: [(String, Tensor)], over c: any Communicator) throws {
        guard c.size > 1 else { return }
        let mine = named.map { fingerprint($0.1) }
        var root = mine
        try root.withUnsafeMutableBytes { try c.broadcast($0, root: 0) }
        let firstDifferent = zip(mine, root).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        var differing = [firstDifferent == nil ? 0.0 : 1.0]
        try differing.withUnsafeMutableBufferPointer { try c.allreduceSum($0) }
        guard differing[0] == 0 else {
            let what = firstDifferent.map { "rank \(c.rank)'s \(named[$0].0) differs from rank 0's" } ?? "rank \(c.rank) agrees with rank 0"
            throw CommunicatorError.replicasDiffer("\(Int(differing[0])) of \(c.size) ranks differ from rank 0 (\(what))")
        }
    }

    /// A 64-bit hash of a tensor's float bits (FNV-style multiply–xor over 32-bit words).
    static func fingerprint(_ t: Tensor) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(t.count)
        let bits = UnsafeRawPointer(t.pointer).assumingMemoryBound(to: UInt32.self)
        for i in 0..<t.count { h = (h ^ UInt64(bits[i])) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
