import Foundation

/// ZeRO stage 1's split of the optimizer step over the ranks of a data-parallel run: the trained
/// tensors, laid end to end in the optimizer's order, form one run of T elements, and rank r owns the
/// contiguous elements ⌊T·r/N⌋ ..< ⌊T·(r+1)/N⌋ — every element exactly once, the ranks' counts
/// within one element of each other. A rank's piece of one tensor is a contiguous range of it
/// (possibly empty, possibly the whole tensor), so AdamW updates it in place; the updated weights
/// are shared back by all-gathering windows of the run (`segments(of:)`).
public struct OptimizerShard: Equatable, Sendable {
    public let ranks: Int
    public let rank: Int
    /// Elements of each parameter, in the optimizer's order.
    public let counts: [Int]
    /// First element of each parameter in the run (`starts[counts.count]` = T).
    let starts: [Int]
    /// First element of each rank's piece of the run (`bounds[ranks]` = T).
    let bounds: [Int]

    public init(counts: [Int], ranks: Int, rank: Int) {
        precondition(ranks >= 1 && (0..<ranks).contains(rank), "OptimizerShard: rank \(rank) of \(ranks)")
        precondition(counts.allSatisfy { $0 >= 0 }, "OptimizerShard: negative parameter size")
        self.ranks = ranks
        self.rank = rank
        self.counts = counts
        var starts = [0]
        for n in counts { starts.append(starts.last! + n) }
        self.starts = starts
        let total = starts.last!
        // T·r can exceed Int for absurd T only; multipliedFullWidth keeps the division exact.
        bounds = (0...ranks).map { r in
            let (high, low) = total.multipliedFullWidth(by: r)
            return Int(ranks.dividingFullWidth((high, low)).quotient)
        }
    }

    /// Elements in the whole run.
    public var totalElements: Int { starts[counts.count] }

    /// The elements of `rank`'s piece: ⌊T·r/N⌋ ..< ⌊T·(r+1)/N⌋ of the run.
    public func elements(ofRank rank: Int) -> Range<Int> { bounds[rank]..<bounds[rank + 1] }

    /// The elements of parameter `index` that `rank` owns (empty when none), as offsets into the parameter.
    public func range(ofParameter index: Int, rank: Int) -> Range<Int> {
        let lower = max(starts[index], bounds[rank]), upper = min(starts[index + 1], bounds[rank + 1])
        return lower < upper ? (lower - starts[index])..<(upper - starts[index]) : 0..<0
    }

    /// This rank's range of every parameter (what its AdamW updates: `AdamW.shard(_:)`).
    public var ownedRanges: [Range<Int>] { counts.indices.map { range(ofParameter: $0, rank: rank) } }

    /// The pieces of parameters that elements `range` of the run are made of, in order: parameter
    /// index, offset into the parameter, element count (parameters of no elements are skipped).
    public func segments(of range: Range<Int>) -> [(parameter: Int, offset: Int, count: Int)] {
        precondition(range.lowerBound >= 0 && range.upperBound <= totalElements, "OptimizerShard.segments: \(range) outside 0..<\(totalElements)")
        guard !range.isEmpty else { return [] }
        // The last parameter starting at or before range.lowerBound (binary search over starts).
        var low = 0, high = counts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if starts[mid] <= range.lowerBound { low = mid } else { high = mid - 1 }
        }
        var out: [(parameter: Int, offset: Int, count: Int)] = []
        var index = low
        while index < counts.count && starts[index] < range.upperBound {
            let lower = max(starts[index], range.lowerBound), upper = min(starts[index + 1], range.upperBound)
            if lower < upper { out.append((index, lower - starts[index], upper - lower)) }
            index += 1
        }
        return out
    }
}
