import XCTest
@testable import MiniMindTensor

/// ZeRO-1's split of the optimizer step (`OptimizerShard`, `AdamW.shard`, the sharded
/// `clipGradNorm`), with the ranks simulated in one process: each rank steps its own copy of the
/// parameters, then the ranks' pieces are copied into every copy (what the all-gather does). The
/// result must be torch.optim.AdamW's (the fixture of Scripts/gen_optim_fixtures.py) and the
/// unsharded optimizer's.
final class OptimShardTests: XCTestCase {
    /// Every element of every parameter belongs to exactly one rank, the ranks' pieces of a tensor
    /// lie back to back in rank order, and the ranks' totals differ by at most one element.
    func testShardsCoverEveryElementOnceAndAreBalanced() {
        let layouts: [[Int]] = [[20, 5, 24, 703, 6, 7, 3], [1], [0, 0, 5, 0], [1_000_003], [3, 3, 3], [],
                                (1...40).map { $0 * 37 % 101 }]
        for counts in layouts {
            let total = counts.reduce(0, +)
            for ranks in 1...7 {
                let shards = (0..<ranks).map { OptimizerShard(counts: counts, ranks: ranks, rank: $0) }
                XCTAssertEqual(shards[0].totalElements, total)
                var owned = Array(repeating: 0, count: ranks)
                for (index, n) in counts.enumerated() {
                    var next = 0
                    for r in 0..<ranks {
                        let range = shards[0].range(ofParameter: index, rank: r)
                        XCTAssertEqual(range, shards[r].ownedRanges[index], "every rank computes the same split")
                        if range.isEmpty { continue }
                        XCTAssertEqual(range.lowerBound, next, "\(counts) ÷ \(ranks): parameter \(index) rank \(r) leaves a gap or overlaps")
                        next = range.upperBound
                        owned[r] += range.count
                    }
                    XCTAssertEqual(next, n, "\(counts) ÷ \(ranks): parameter \(index) not covered")
                    XCTAssertEqual((0..<ranks).map { shards[0].range(ofParameter: index, rank: $0).count }.reduce(0, +), n)
                }
                XCTAssertEqual(owned.reduce(0, +), total)
                XCTAssertLessThanOrEqual((owned.max() ?? 0) - (owned.min() ?? 0), 1, "\(counts) ÷ \(ranks): \(owned)")
                for r in 0..<ranks { XCTAssertEqual(owned[r], shards[0].elements(ofRank: r).count) }
            }
        }
    }

    /// `ranks` simulated ranks run the fixture's scenario: sharded clip (the ranks' sums of squares
    /// added), AdamW over each rank's share, then the pieces exchanged. Returns rank 0's parameters
    /// and the ranks' state tensors summed (each holds zeros outside its share).
    private func runSharded(_ scenario: String, ranks: Int) throws -> (params: [(String, Tensor)], state: [String: [Float]], norms: [Float]) {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario(scenario)
        let copies = (0..<ranks).map { _ in fx.makeParameters() }
        let shards = (0..<ranks).map { OptimizerShard(counts: copies[0].map { $0.1.count }, ranks: ranks, rank: $0) }
        let optimizers = zip(copies, shards).map { params, shard in
            let opt = AdamW(parameters: params, lr: sc.lr, betas: (sc.betas[0], sc.betas[1]), eps: sc.eps, weightDecay: sc.weight_decay)
            opt.shard(shard.ownedRanges)
            return opt
        }
        var norms: [Float] = []
        for step in 1...fx.steps {
            for params in copies { fx.setGrads(params, step: step) }
            if let maxNorm = sc.max_norm {
                // What the scalar allreduce returns: every rank's sum of squares over its share.
                let total = zip(copies, shards).reduce(0.0) { sum, rank in
                    sum + zip(rank.0, rank.1.ownedRanges).reduce(0.0) { s, pr in
                        guard let g = pr.0.1.grad, !pr.1.isEmpty else { return s }
                        return s + Kernels.sumSquaresDouble(g.pointer + pr.1.lowerBound, count: pr.1.count)
                    }
                }
                for (params, shard) in zip(copies, shards) {
                    norms.append(clipGradNorm(params.map { $0.1 }, ranges: shard.ownedRanges, maxNorm: maxNorm) { _ in total })
                }
            }
            for opt in optimizers { opt.step() }
            // The all-gather: every rank's share into every copy.
            for (index, _) in copies[0].enumerated() {
                for (from, shard) in shards.enumerated() {
                    let range = shard.ownedRanges[index]
                    for to in 0..<ranks where to != from && !range.isEmpty {
                        (copies[to][index].1.mutablePointer + range.lowerBound).update(from: copies[from][index].1.pointer + range.lowerBound, count: range.count)
                    }
                }
            }
            for params in copies.dropFirst() {
                XCTAssertEqual(params.map { $0.1.toArray() }, copies[0].map { $0.1.toArray() }, "step \(step): the replicas differ")
            }
        }
        var state: [String: [Float]] = [:]
        for opt in optimizers {
            for (key, t) in opt.stateTensors() {
                let values = t.toArray()
                if key.hasSuffix(".step") { state[key] = values; continue }
                state[key] = zip(state[key] ?? Array(repeating: 0, count: values.count), values).map { $0 + $1 }
            }
        }
        return (copies[0], state, norms)
    }

    /// The unsharded optimizer over the same scenario.
    private func runWhole(_ scenario: String) throws -> (params: [(String, Tensor)], state: [String: [Float]]) {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario(scenario)
        let params = fx.makeParameters()
        let opt = AdamW(parameters: params, lr: sc.lr, betas: (sc.betas[0], sc.betas[1]), eps: sc.eps, weightDecay: sc.weight_decay)
        for step in 1...fx.steps {
            fx.setGrads(params, step: step)
            if let maxNorm = sc.max_norm { clipGradNorm(params.map { $0.1 }, maxNorm: maxNorm) }
            opt.step()
        }
        return (params, Dictionary(uniqueKeysWithValues: opt.stateTensors().map { ($0.0, $0.1.toArray()) }))
    }

    /// Without clipping the sharded step is the whole step bit for bit (the update is elementwise),
    /// for 2 and 3 ranks (3 cuts wide.weight in three); the gathered moments and step counts are the
    /// whole optimizer's, and both are torch's within the AdamW tests' tolerance.
    func testShardedStepIsTheWholeStepBitForBit() throws {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario("defaults")
        let whole = try runWhole("defaults")
        for ranks in [2, 3] {
            let sharded = try runSharded("defaults", ranks: ranks)
            for ((name, a), (_, b)) in zip(sharded.params, whole.params) {
                XCTAssertEqual(a.toArray(), b.toArray(), "\(ranks) ranks: \(name)")
                let want = try XCTUnwrap(sc.after["\(fx.steps)"]?[name])
                XCTAssertLessThanOrEqual(maxRelativeError(a.toArray(), want), OptimAdamWTests.tolerance, "\(ranks) ranks: \(name) vs torch")
            }
            XCTAssertEqual(sharded.state, whole.state, "\(ranks) ranks: gathered state")
            XCTAssertNil(sharded.state["frozen.step"])
            XCTAssertEqual(sharded.state["sometimes.step"], [3])
            for (pname, want) in sc.state_after_5 {
                XCTAssertLessThanOrEqual(maxRelativeError(try XCTUnwrap(sharded.state["\(pname).exp_avg_sq"]), want.exp_avg_sq), OptimAdamWTests.tolerance)
            }
        }
    }

    /// With clipping, the norm from the ranks' shares is torch's global norm, and the run is torch's.
    func testShardedClipUsesTheGlobalNorm() throws {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario("clipped")
        let sharded = try runSharded("clipped", ranks: 3)
        XCTAssertEqual(sharded.norms.count, 3 * fx.steps)
        for (i, norm) in sharded.norms.enumerated() {
            XCTAssertEqual(Double(norm), Double(sc.clip_norms[i / 3]), accuracy: 1e-6 * Double(sc.clip_norms[i / 3]), "step \(i / 3 + 1)")
        }
        for (name, p) in sharded.params {
            let want = try XCTUnwrap(sc.after["\(fx.steps)"]?[name])
            XCTAssertLessThanOrEqual(maxRelativeError(p.toArray(), want), OptimAdamWTests.tolerance, name)
        }
    }

    /// Sharding an optimizer that already has state keeps its share of the moments; a sharded
    /// optimizer restores its share from whole moments; either way the run continues as the whole one.
    func testShardingAndLoadingStateKeepTheShare() throws {
        let fx = try OptimFixture.load()
        let sc = try fx.scenario("defaults")
        let whole = try runWhole("defaults")
        let make = { (params: [(String, Tensor)]) in
            AdamW(parameters: params, lr: sc.lr, betas: (sc.betas[0], sc.betas[1]), eps: sc.eps, weightDecay: sc.weight_decay)
        }
        // Two steps unsharded, then rank 1 of 2 shards the live optimizer, rank 0 loads the saved state.
        let a = fx.makeParameters(), b = fx.makeParameters()
        let first = make(a)
        for step in 1...2 { fx.setGrads(a, step: step); first.step() }
        let saved = Dictionary(uniqueKeysWithValues: first.stateTensors())
        for (x, y) in zip(b, a) { x.1.mutablePointer.update(from: y.1.pointer, count: y.1.count) }
        let shards = (0..<2).map { OptimizerShard(counts: a.map { $0.1.count }, ranks: 2, rank: $0) }
        first.shard(shards[1].ownedRanges)
        let second = make(b)
        second.shard(shards[0].ownedRanges)
        try second.loadState(saved)
        for step in 3...fx.steps {
            fx.setGrads(a, step: step); fx.setGrads(b, step: step)
            first.step(); second.step()
            for (index, range) in shards[1].ownedRanges.enumerated() where !range.isEmpty {
                (b[index].1.mutablePointer + range.lowerBound).update(from: a[index].1.pointer + range.lowerBound, count: range.count)
            }
        }
        for ((name, p), (_, w)) in zip(b, whole.params) { XCTAssertEqual(p.toArray(), w.toArray(), name) }
        XCTAssertEqual(second.states.compactMap { $0?.expAvg.count }.reduce(0, +) + first.states.compactMap { $0?.expAvg.count }.reduce(0, +),
                       whole.state.filter { $0.key.hasSuffix(".exp_avg") }.values.reduce(0) { $0 + $1.count },
                       "each rank keeps moments for its share only")
    }
}
