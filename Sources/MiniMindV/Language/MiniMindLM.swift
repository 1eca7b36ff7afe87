import Foundation

/// The MiniMind decoder body (`model.*` keys): embedding, blocks, final norm.
public final class MiniMindModel: Module {
    public let embedTokens: Embedding
    public let layers: ModuleList<DecoderBlock>
    public let norm: RMSNorm

    init(config: LanguageModelConfig, generator: inout SeededGenerator) {
        embedTokens = Embedding(config.vocabSize, config.hiddenSize, generator: &generator)
        var blocks: [DecoderBlock] = []
        for i in 0..<config.numHiddenLayers {
            // Shared pairs: the odd block is the even one again (one object, registered under both
            // keys, so files and exports still list every layer and gradients of both uses add up).
            if config.shareBlockPairs && i % 2 == 1 { blocks.append(blocks[i - 1]) }
            else { blocks.append(DecoderBlock(config: config, generator: &generator)) }
        }
        layers = ModuleList(blocks)
        norm = RMSNorm(config.hiddenSize, eps: config.rmsNormEps)
        super.init()
        register(child: "embed_tokens", embedTokens)
        register(child: "layers", layers)
        register(child: "norm", norm)
    }
}

/// MiniMind language model of either generation (Docs/Model.md, "Language model"), dense or MoE:
/// `model.*` + `lm_head` — tied to the embedding table (upstream's layout) unless the config's
/// `tie_word_embeddings` is false, when the head has its own `lm_head.weight`.
/// It has every capability of `ModelCapabilities.swift` (LoRA, quantisation, low-rank, pruning,
/// grounding) and `DropoutTrainable`.
public final class MiniMindLM: Module, LanguageModel, DropoutTrainable, CompressibleLanguageModel, HiddenStatesLanguageModel,
    DecoderBlockLanguageModel {
    public let config: LanguageModelConfig
    public let model: MiniMindModel
    public private(set) var lmHead: Linear
    public let rope: RoPETable

    /// A randomly initialised model (PyTorch default inits, seeded).
    public init(config: LanguageModelConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        var g = SeededGenerator(seed: seed)
        model = MiniMindModel(config: config, generator: &g)
        lmHead = config.tieWordEmbeddings
            ? Linear(weight: model.embedTokens.weight)
            : Linear(config.hiddenSize, config.vocabSize, bias: false, generator: &g)
        rope = RoPETable(headDim: config.headDim, maxPositions: config.maxPositionEmbeddings, theta: config.ropeTheta,
                         yarn: config.yarn ? YaRNConfig() : nil)
        super.init()
        register(child: "model", model)
        register(child: "lm_head", lmHead)
    }

    public var embeddingTable: Tensor { model.embedTokens.weight }

    public var decoderBlocks: [DecoderBlock] { Array(model.layers) }

    public func makeEmpty(config: LanguageModelConfig) throws -> any LanguageModel { try MiniMindLM(config: config) }

    /// Dropout in training mode (TrainingDropout.swift); nil: none. The trainer sets it from the recipe.
    public var trainingDropout: TrainingDropout? {
        didSet { for block in model.layers { block.dropout = trainingDropout } }
    }

    public func embed(_ ids: [Int], batch: Int) -> Tensor {
        precondition(batch > 0 && ids.count % batch == 0, "MiniMindLM.embed: \(ids.count) ids do not split into \(batch) rows")
        let h = model.embedTokens(ids, shape: [batch, ids.count / batch])
        guard let trainingDropout, isTraining else { return h }
        return trainingDropout(h, training: true)
    }

    public var auxiliaryLoss: Tensor? {
        let losses = model.layers.compactMap { $0.moe?.auxLoss }
        guard var total = losses.first else { return nil }
        for l in losses.dropFirst() { total = total + l }
        return total
    }

    public func logits(embeddings: Tensor, keyPaddingMask: Tensor?) -> Tensor {
        lmHead(model.norm(decoderOutput(embeddings: embeddings, keyPaddingMask: keyPaddingMask)))
    }

    /// Logits [rows.count, vocab] of only the flat positions `rows` (b·T + t) of a full-sequence
    /// forward. Training needs logits only where a label counts; the norm and head of every other
    /// position would be computed and thrown away (and so would their gradients).
    public func logits(embeddings: Tensor, keyPaddingMask: Tensor?, rows: [Int]) -> Tensor {
        let h = decoderOutput(embeddings: embeddings, keyPaddingMask: keyPaddingMask)
        let flat = h.reshaped([h.count / config.hiddenSize, config.hiddenSize])
        return lmHead(model.norm(indexSelect(flat, axis: 0, indices: rows)))
    }

    /// Final-norm hidden states [rows.count, hidden] of the flat positions `rows` and their logits,
    /// from one forward (an objective that needs both, e.g. `GroundingObjective`).
    public func hiddenStatesAndLogits(embeddings: Tensor, keyPaddingMask: Tensor?, rows: [Int]) -> (hidden: Tensor, logits: Tensor) {
        let h = decoderOutput(embeddings: embeddings, keyPaddingMask: keyPaddingMask)
        let normed = model.norm(indexSelect(h.reshaped([h.count / config.hiddenSize, config.hiddenSize]), axis: 0, indices: rows))
        return (normed, lmHead(normed))
    }

    /// The blocks' output [B, T, hidden] before the final norm (training path, with autograd).
    private func decoderOutput(embeddings: Tensor, keyPaddingMask: Tensor?) -> Tensor {
        var h = embeddings
        for layer in model.layers { h = layer(h, rope: rope, keyPaddingMask: keyPaddingMask) }
        return h
    }

    public func logits(embeddings: Tensor, cache: KVCache, keyMask: [Float]?, positions: LogitPositions) -> Tensor {
        let t = embeddings.shape[1]
        precondition(cache.length + t <= cache.maxLength,
                     "MiniMindLM: \(t) new tokens do not fit the KV cache (\(cache.length) of \(cache.maxLength) used)")
        return noGrad {
            // The blocks update the hidden states in place: start from a copy so the caller's
            // embeddings stay untouched.
            var h = embeddings.copy()
            // With only the last logits wanted, the last block computes its output at the last
            // position alone (its k and v still go into the cache for every position).
            for (i, layer) in model.layers.enumerated() {
                let lastOnly = positions == .last && i == model.layers.count - 1
                h = layer.updateCached(h, rope: rope, cache: cache, layer: i, keyMask: keyMask, firstOutput: lastOnly ? t - 1 : 0)
            }
            cache.length += t
            if positions == .last && h.shape[1] > 1 { h = h.slice(axis: 1, (t - 1)..<t) }  // a model without blocks
            return lmHead(model.norm(h))
        }
    }

    /// Replaces every linear layer of the attention, the dense feed-forwards and the head by
    /// `transform(key path, layer)` (`model.layers.3.self_attn.o_proj`, `lm_head`), keys unchanged.
    /// MoE experts and routers are left alone. `setDecodeDType` is built on it.
    public func swapLinears(_ transform: (String, Linear) -> Linear) {
        var seen = Set<ObjectIdentifier>()  // a shared block is swapped once, under its first key
        for (i, block) in model.layers.enumerated() where seen.insert(ObjectIdentifier(block)).inserted {
            let prefix = "model.layers.\(i)."
            block.selfAttn.swapLinears { transform(prefix + "self_attn." + $0, $1) }
            block.dense?.swapLinears { transform(prefix + "mlp." + $0, $1) }
        }
        lmHead = swap(child: "lm_head", lmHead) { transform($0, $1) }
    }

    /// Precision of the weights the decode steps read (opt-in; see `DecodeDType`).
    public private(set) var decodeDType: DecodeDType = .f32

    /// Bytes of the packed decode copies (0 for f32).
    public private(set) var decodeWeightBytes = 0

    /// The scheme of the layers whose only weights are quantised values (a quantised model folder,
    /// `QuantizedWeights`), nil when every layer is float.
    public var weightQuantization: WeightQuantization?

    /// Swaps the linear layers for `PackedLinear`s packed from the current weights in `dtype` (f32:
    /// back to plain float layers). Call it after the weights are final: later changes to the float32
    /// weights (loading, training) do not reach the copies.
    public func setDecodeDType(_ dtype: DecodeDType) {
        var bytes = 0
        func pack(_ layer: Linear) -> Linear {
            // Quantised and factorised layers keep their own form (no dense float32 W to pack).
            guard layer.storesDenseWeight else { return layer }
            guard let packed = PackedLinear(layer, dtype: dtype) else { return Linear(sharing: layer) }
            bytes += packed.packedByteCount
            return packed
        }
        // A LoRA layer keeps its adapter (float32) and packs the frozen product underneath.
        swapLinears { _, layer in (layer as? LoRALinear).map { $0.replacingBase(pack($0.base)) } ?? pack(layer) }
        decodeDType = dtype
        decodeWeightBytes = bytes
    }

    public func makeCache(batch: Int, maxLength: Int) -> KVCache {
        KVCache(layers: config.numHiddenLayers, batch: batch, kvHeads: config.numKeyValueHeads, headDim: config.headDim,
                maxLength: min(maxLength, config.maxPositionEmbeddings))
    }
}
