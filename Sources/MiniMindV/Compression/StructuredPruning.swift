import Foundation

/// How much each feed-forward channel and each query head of every decoder block contributes:
/// `channels[layer][j]` for channel j of the SwiGLU, `heads[layer][h]` for query head h.
public struct PruningImportance: Equatable, Sendable {
    public var channels: [[Double]]
    public var heads: [[Double]]

    public init(channels: [[Double]], heads: [[Double]]) {
        self.channels = channels
        self.heads = heads
    }
}

/// Structured pruning of the language model: removes the least important feed-forward channels
/// (rows of gate_proj and up_proj, the matching columns of down_proj) and query heads (rows of
/// q_proj, columns of o_proj), leaving a smaller dense model with a configuration of its own.
///
/// Every block keeps the same number of channels and heads (the configuration has one
/// intermediate_size and one head count). Query heads are removed evenly within each
/// grouped-query (GQA) group, so every key/value head stays and the head → KV-group mapping keeps
/// its shape: with 8 query heads over 2 KV heads, keep 0.5 leaves 2 query heads per group. The
/// vision tower, the projector, the embedding and the norms are unchanged. MoE models are refused.
public enum StructuredPruning {
    /// Channels and heads that `ffnKeep` and `headsKeep` (shares in (0, 1]) leave per block.
    public static func prunedConfig(_ config: LanguageModelConfig, ffnKeep: Double, headsKeep: Double) throws -> LanguageModelConfig {
        try InputRange.check("StructuredPruning.ffnKeep", ffnKeep, above: 0, upTo: 1)
        try InputRange.check("StructuredPruning.headsKeep", headsKeep, above: 0, upTo: 1)
        guard config.moe == nil else { throw ModelError.unsupported("structured pruning needs dense feed-forwards; this model is a mixture of experts") }
        var c = config
        c.intermediateSize = max(1, Int((Double(config.intermediateSize) * ffnKeep).rounded()))
        let perGroup = config.numAttentionHeads / config.numKeyValueHeads
        c.numAttentionHeads = config.numKeyValueHeads * max(1, Int((Double(perGroup) * headsKeep).rounded()))
        return c
    }

    /// Importance from the weights alone. Channel j: ‖gate_j‖·‖up_j‖·‖down[:, j]‖ (the sizes of
    /// its two input rows and its output column); head h: ‖q_proj rows of h‖·‖o_proj columns of h‖.
    public static func weightImportance(_ lm: any DecoderBlockLanguageModel) throws -> PruningImportance {
        var channels: [[Double]] = [], heads: [[Double]] = []
        for block in lm.decoderBlocks {
            guard let ffn = block.dense else { throw ModelError.unsupported("structured pruning needs dense feed-forwards") }
            let gate = rowNorms(ffn.gateProj.weight), up = rowNorms(ffn.upProj.weight)
            let down = columnNorms(ffn.downProj.weight)
            channels.append((0..<gate.count).map { gate[$0] * up[$0] * down[$0] })
            let attn = block.selfAttn
            let q = rowNorms(attn.qProj.weight), o = columnNorms(attn.oProj.weight)
            heads.append((0..<attn.heads).map { h in
                let r = (h * attn.headDim)..<((h + 1) * attn.headDim)
                return (r.reduce(0) { $0 + q[$1] * q[$1] }).squareRoot() * (r.reduce(0) { $0 + o[$1] * o[$1] }).squareRoot()
            })
        }
        return PruningImportance(channels: channels, heads: heads)
    }

    /// A smaller dense copy of `model` keeping, per block, the most important channels and query
    /// heads (ties: the lower index), in their original order. Shares the vision tower.
    public static func prune(_ model: MiniMindVLM, ffnKeep: Double, headsKeep: Double,
                             importance: PruningImportance? = nil) throws -> MiniMindVLM {
        let lm = try model.language.capability((any DecoderBlockLanguageModel).self, for: "structured pruning")
        let old = model.config.language
        let new = try prunedConfig(old, ffnKeep: ffnKeep, headsKeep: headsKeep)
        var importance = try importance ?? weightImportance(lm)
        guard importance.channels.count == old.numHiddenLayers, importance.heads.count == old.numHiddenLayers,
              importance.channels.allSatisfy({ $0.count == old.intermediateSize }),
              importance.heads.allSatisfy({ $0.count == old.numAttentionHeads }) else {
            throw ModelError.incompatible("the pruning importance does not match the model's \(old.numHiddenLayers) blocks × \(old.intermediateSize) channels / \(old.numAttentionHeads) heads")
        }
        if old.shareBlockPairs {  // one block, two uses: one choice from both uses' scores
            for i in stride(from: 0, to: old.numHiddenLayers, by: 2) {
                importance.channels[i] = zip(importance.channels[i], importance.channels[i + 1]).map { $0 + $1 }
                importance.heads[i] = zip(importance.heads[i], importance.heads[i + 1]).map { $0 + $1 }
                importance.channels[i + 1] = importance.channels[i]
                importance.heads[i + 1] = importance.heads[i]
            }
        }
        let perGroup = old.numAttentionHeads / old.numKeyValueHeads
        let keptPerGroup = new.numAttentionHeads / new.numKeyValueHeads
        var state = StateDict()
        try noGrad {
            for (name, t) in model.stateDict() {
                var kept = t
                if let (layer, part) = blockPart(name) {
                    let channels = top(importance.channels[layer], new.intermediateSize)
                    let heads = (0..<old.numKeyValueHeads).flatMap { g in
                        top(Array(importance.heads[layer][(g * perGroup)..<((g + 1) * perGroup)]), keptPerGroup).map { g * perGroup + $0 }
                    }
                    let headRows = heads.flatMap { h in (h * old.headDim)..<((h + 1) * old.headDim) }
                    switch part {
                    case "mlp.gate_proj.weight", "mlp.up_proj.weight": kept = indexSelect(t, axis: 0, indices: channels)
                    case "mlp.down_proj.weight": kept = indexSelect(t, axis: 1, indices: channels)
                    case "self_attn.q_proj.weight": kept = indexSelect(t, axis: 0, indices: headRows)
                    case "self_attn.o_proj.weight": kept = indexSelect(t, axis: 1, indices: headRows)
                    default: break
                    }
                }
                state[name] = try TensorData(tensor: kept, dtype: .f32)
            }
        }
        var config = model.config
        config.language = new
        let pruned = try MiniMindVLM(config: config, language: try lm.makeEmpty(config: new),
                                     projector: MiniMindVLM.makeProjector(config, seed: 0), vision: model.vision)
        try pruned.loadReleaseWeights(state)
        pruned.eval()
        return pruned
    }

    /// (block index, key inside the block) of `model.layers.<i>.<part>`.
    static func blockPart(_ name: String) -> (Int, String)? {
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]) else { return nil }
        return (i, String(rest[rest.index(after: dot)...]))
    }

    /// Indices of the `k` largest scores, ascending (ties: the lower index first).
    static func top(_ scores: [Double], _ k: Int) -> [Int] {
        scores.indices.sorted { (scores[$0], $1) > (scores[$1], $0) }.prefix(k).sorted()
    }

    static func rowNorms(_ w: Tensor) -> [Double] {
        let rows = w.shape[0], cols = w.count / max(rows, 1), p = w.pointer
        return (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(p[r * cols + $1]) * Double(p[r * cols + $1]) }.squareRoot() }
    }

    static func columnNorms(_ w: Tensor) -> [Double] {
        let rows = w.shape[0], cols = w.count / max(rows, 1), p = w.pointer
        var sums = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for c in 0..<cols { sums[c] += Double(p[r * cols + c]) * Double(p[r * cols + c]) } }
        return sums.map { $0.squareRoot() }
    }
}
