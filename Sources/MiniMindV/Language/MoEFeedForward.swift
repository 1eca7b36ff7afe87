import Foundation

/// Mixture-of-experts feed-forward of both generations (Docs/Model.md, "Language model"): softmax router, top-k experts with
/// renormalised weights, optional shared experts, and the flavour's auxiliary load-balancing loss.
/// Keys: `gate.weight`, `experts.{e}.*`, `shared_experts.{s}.*`.
public final class MoEFeedForward: Module {
    public let config: MoEConfig
    public let gate: Linear
    public let experts: ModuleList<FeedForward>
    public let sharedExperts: ModuleList<FeedForward>?
    /// The auxiliary loss of the last training-mode forward (nil in eval mode).
    public private(set) var auxLoss: Tensor?

    public init(hidden: Int, config: MoEConfig, generator: inout SeededGenerator) {
        self.config = config
        gate = Linear(hidden, config.numExperts, bias: false, generator: &generator)
        var list: [FeedForward] = []
        for _ in 0..<config.numExperts {
            list.append(FeedForward(hidden: hidden, intermediate: config.expertIntermediateSize, generator: &generator))
        }
        experts = ModuleList(list)
        var shared: [FeedForward] = []
        for _ in 0..<config.sharedExperts {
            shared.append(FeedForward(hidden: hidden, intermediate: config.expertIntermediateSize, generator: &generator))
        }
        sharedExperts = shared.isEmpty ? nil : ModuleList(shared)
        super.init()
        register(child: "gate", gate)
        register(child: "experts", experts)
        if let sharedExperts { register(child: "shared_experts", sharedExperts) }
    }

    /// x: [B, T, H] → [B, T, H].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let hidden = x.shape[x.rank - 1]
        let tokens = x.count / hidden
        let flat = x.reshaped([tokens, hidden])
        let scores = softmax(gate(flat))
        let k = config.expertsPerToken
        let (topValues, topIndices) = topK(scores, k: k)
        var weights = topValues
        if config.normalizeTopK { weights = weights / (weights.sum(axis: -1, keepDims: true) + 1e-20) }
        let flatWeights = weights.reshaped([tokens * k])

        // Route each (token, slot) to its expert; experts see only their tokens.
        var routed = [[Int]](repeating: [], count: config.numExperts)
        for (slotIndex, e) in topIndices.enumerated() { routed[e].append(slotIndex) }
        var y = Tensor.zeros([tokens, hidden])
        for (e, slots) in routed.enumerated() where !slots.isEmpty {
            let rows = slots.map { $0 / k }
            let out = experts[e](indexSelect(flat, indices: rows))
            let w = indexSelect(flatWeights, indices: slots).reshaped([slots.count, 1])
            y = scatterAdd(into: y, rows: rows, source: out * w)
        }
        if let sharedExperts {
            for expert in sharedExperts { y = y + expert(flat) }
        }
        auxLoss = isTraining && config.auxLossCoefficient > 0
            ? auxiliaryLoss(scores: scores, indices: topIndices, batch: x.rank == 3 ? x.shape[0] : 1) : nil
        return y.reshaped(x.shape)
    }

    private func auxiliaryLoss(scores: Tensor, indices: [Int], batch: Int) -> Tensor {
        let e = config.numExperts, k = config.expertsPerToken
        let tokens = scores.shape[0]
        switch config.flavour {
        case .minimind2:
            // Per sequence: picks of each expert relative to a uniform share, times its mean score.
            let seq = tokens / batch
            var ce = [Float](repeating: 0, count: batch * e)
            for (slot, expert) in indices.enumerated() { ce[(slot / k / seq) * e + expert] += 1 }
            let uniform = Float(seq * k) / Float(e)
            let ceTensor = Tensor(shape: [batch, e], data: ce.map { $0 / uniform })
            let meanScores = scores.reshaped([batch, seq, e]).mean(axis: 1)
            return (meanScores * ceTensor).sum() * (config.auxLossCoefficient / Float(batch))
        case .minimind3:
            // Over all tokens: fraction routed to each expert times its mean score, times E.
            var load = [Float](repeating: 0, count: e)
            for expert in indices { load[expert] += 1 }
            let loadTensor = Tensor(shape: [e], data: load.map { $0 / Float(tokens) })
            return (scores.mean(axis: 0) * loadTensor).sum() * (Float(e) * config.auxLossCoefficient)
        }
    }
}
