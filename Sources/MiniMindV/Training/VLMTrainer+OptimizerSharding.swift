import Foundation

/// ZeRO stage 1 in `VLMTrainer` (Docs/Distributed.md, "Sharded optimizer step"). With several
/// ranks every rank holds the averaged gradients, but instead of each repeating the whole optimizer
/// step, rank r clips and updates only its contiguous share of the trained elements
/// (`OptimizerShard`, balanced by element count) and keeps AdamW moments for that share only; the
/// updated weights are then all-gathered in rounds of about 16 MiB (`DataParallel.allgather`), so
/// every rank again holds identical weights. The gradient norm is the global one: each rank sums the
/// squares of its share, and the sums are added in one scalar allreduce. Resume files still hold the
/// whole optimizer state: the moments are all-gathered when a checkpoint is written, so a run
/// resumes with any rank count. One process (or `gradientAveraging.shardOptimizer` off) steps as before.
extension VLMTrainer {
    /// This rank's shard of the optimizer step, made (and the optimizer cut to it) at the first
    /// step with several ranks and sharding on; nil for one process or with sharding off.
    func activeOptimizerShard() -> OptimizerShard? {
        if let optimizerShard { return optimizerShard }
        guard communicator.size > 1, gradientAveraging.shardOptimizer else { return nil }
        let shard = OptimizerShard(counts: optimizer.parameters.map(\.count), ranks: communicator.size, rank: communicator.rank)
        optimizer.shard(shard.ownedRanges)
        optimizerShard = shard
        return shard
    }

    /// The global norm of the (averaged) gradients before clipping, and the factor that clips them
    /// to the recipe's norm; sharded, over this rank's share with the ranks' sums of squares added.
    /// The gradients are not scaled here: `stepOptimizer` applies the factor in AdamW's pass.
    func clipGradients() throws -> GradientClip {
        let maxNorm = Float(recipe.gradClip.map { $0 > 0 ? $0 : .infinity } ?? .infinity)
        guard let shard = activeOptimizerShard() else { return gradientClip(optimizer.parameters, maxNorm: maxNorm) }
        let c = communicator
        return try gradientClip(optimizer.parameters, ranges: shard.ownedRanges, maxNorm: maxNorm) { mine in
            var sum = [mine]
            try sum.withUnsafeMutableBufferPointer { try c.allreduceSum($0) }
            return sum[0]
        }
    }

    /// AdamW over this rank's share (all of it for one process) with the clip's factor applied as it
    /// reads the gradients, then every rank receives the others' updated elements; in bf16 the weights'
    /// bfloat16 copies are refreshed (by AdamW's own pass for one process, after the gather for several).
    func stepOptimizer(gradientScale: Float?) throws {
        guard let shard = activeOptimizerShard() else {
            optimizer.step(gradientScale: gradientScale, refreshingBFloat16Copies: Compute.effectivePrecision == .bf16)
            return
        }
        optimizer.step(gradientScale: gradientScale)
        try DataParallel.allgather(optimizer.parameters, shard: shard, over: communicator)
        refreshBFloat16Weights()
    }

    /// The optimizer state as `AdamW.stateTensors()` names it, with whole moments on every rank:
    /// sharded, each rank's share is all-gathered like the weights (a collective: every rank calls it).
    func fullOptimizerState() throws -> [(String, Tensor)] {
        let state = optimizer.stateTensors()
        guard let shard = optimizerShard, communicator.size > 1 else { return state }
        let byName = Dictionary(uniqueKeysWithValues: state)
        for key in [AdamW.StateKey.expAvg, AdamW.StateKey.expAvgSq] {
            // A parameter without state (no gradient on any rank yet: the same on all) takes zeros.
            let moments = zip(optimizer.parameterNames, optimizer.parameters).map { name, p in byName["\(name).\(key)"] ?? Tensor.zeros(p.shape) }
            try DataParallel.allgather(moments, shard: shard, over: communicator)
        }
        return state
    }
}
