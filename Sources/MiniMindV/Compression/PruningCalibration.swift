import Foundation

extension StructuredPruning {
    /// Importance measured on calibration samples (each run alone, so no padding is counted), over
    /// every input position. Channel j: mean |silu(gate_j·x)·(up_j·x)| · ‖down[:, j]‖; head h: mean
    /// ‖o_proj[:, h's columns] · output of h‖ — each unit's average contribution to the residual
    /// stream. Images come from `features` (or `.features` images), through the model's projector.
    public static func activationImportance(_ model: MiniMindVLM, samples: [TrainingSample],
                                            features: VisionFeatureExtractor?) throws -> PruningImportance {
        let lm = try model.language.capability((any DecoderBlockLanguageModel).self, for: "structured pruning")
        guard !samples.isEmpty else { throw TrainingError.noSamples("the calibration data has no usable rows") }
        let config = lm.config
        var channels = [[Double]](repeating: [Double](repeating: 0, count: config.intermediateSize), count: config.numHiddenLayers)
        var heads = [[Double]](repeating: [Double](repeating: 0, count: config.numAttentionHeads), count: config.numHiddenLayers)
        var positions = 0
        let blocks = lm.decoderBlocks
        try noGrad {
            for sample in samples {
                let batch = TrainingBatch([sample])
                let images = try MiniMindVLM.visionFeatures(of: batch, features: features).map { model.project($0) }
                var h = model.embeddings(ids: batch.ids, batch: 1, images: images,
                                         imagesPerSample: images == nil ? [] : batch.imagesPerSample)
                let t = batch.length
                positions += t
                for (i, block) in blocks.enumerated() {
                    guard let ffn = block.dense else { throw ModelError.unsupported("structured pruning needs dense feed-forwards") }
                    let attn = block.selfAttn
                    let o = attn.headOutputs(block.inputLayernorm(h), rope: lm.rope)
                    accumulateHeads(o, attn.oProj.weight, heads: attn.heads, headDim: attn.headDim, into: &heads[i])
                    let a = h + attn.oProj(o)
                    let act = swiglu(gate: ffn.gateProj(block.postAttentionLayernorm(a)), up: ffn.upProj(block.postAttentionLayernorm(a)))
                    let p = act.pointer, n = config.intermediateSize
                    for r in 0..<t { for j in 0..<n { channels[i][j] += Double(abs(p[r * n + j])) } }
                    h = a + ffn.downProj(act)
                }
            }
        }
        for i in 0..<config.numHiddenLayers {
            let down = try downColumnNorms(blocks[i])
            channels[i] = (0..<config.intermediateSize).map { channels[i][$0] / Double(positions) * down[$0] }
            heads[i] = heads[i].map { $0 / Double(positions) }
        }
        return PruningImportance(channels: channels, heads: heads)
    }

    private static func downColumnNorms(_ block: DecoderBlock) throws -> [Double] {
        guard let ffn = block.dense else { throw ModelError.unsupported("structured pruning needs dense feed-forwards") }
        return columnNorms(ffn.downProj.weight)
    }

    /// Adds ‖W_o[:, h] · o_h‖ of every position to `sums[h]`.
    private static func accumulateHeads(_ o: Tensor, _ wo: Tensor, heads: Int, headDim: Int, into sums: inout [Double]) {
        let width = heads * headDim, rows = o.count / width
        let flat = o.reshaped([rows, width])
        for h in 0..<heads {
            let cols = Array((h * headDim)..<((h + 1) * headDim))
            let part = matmul(indexSelect(flat, axis: 1, indices: cols), indexSelect(wo, axis: 1, indices: cols), transposeB: true)
            let p = part.pointer, hidden = wo.shape[0]
            for r in 0..<rows {
                var s = 0.0
                for c in 0..<hidden { s += Double(p[r * hidden + c]) * Double(p[r * hidden + c]) }
                sums[h] += s.squareRoot()
            }
        }
    }
}
