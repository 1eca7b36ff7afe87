import Foundation

/// The mixture-of-experts feed-forward of one of the two generations (Docs/Model.md, "Language model").
public struct MoEConfig: Codable, Equatable, Sendable {
    public enum Flavour: String, Codable, Sendable {
        /// MiniMind2: top-2 of 4 routed experts plus shared experts; sequence-level aux loss (alpha 0.01).
        case minimind2
        /// minimind-3: top-1 of 4 experts, no shared expert; token-level aux loss (coefficient 5e-4).
        case minimind3
    }
    public var flavour: Flavour
    public var numExperts: Int
    public var expertsPerToken: Int
    public var sharedExperts: Int
    public var expertIntermediateSize: Int
    public var auxLossCoefficient: Float
    public var normalizeTopK: Bool

    public init(flavour: Flavour, numExperts: Int = 4, expertsPerToken: Int? = nil, sharedExperts: Int? = nil,
                expertIntermediateSize: Int, auxLossCoefficient: Float? = nil, normalizeTopK: Bool = true) {
        self.flavour = flavour
        self.numExperts = numExperts
        self.expertsPerToken = expertsPerToken ?? (flavour == .minimind2 ? 2 : 1)
        self.sharedExperts = sharedExperts ?? (flavour == .minimind2 ? 1 : 0)
        self.expertIntermediateSize = expertIntermediateSize
        self.auxLossCoefficient = auxLossCoefficient ?? (flavour == .minimind2 ? 0.01 : 5e-4)
        self.normalizeTopK = normalizeTopK
    }
}

/// Configuration of the MiniMind decoder (both generations), read from and written to the upstream
/// and transformers `config.json` field names.
public struct LanguageModelConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int = 6400
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int = 8
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double = 1e6
    public var maxPositionEmbeddings: Int = 32768
    /// RMSNorm on q and k per head before RoPE (minimind-3).
    public var qkNorm: Bool
    public var tieWordEmbeddings: Bool = true
    public var bosTokenId: Int = 1
    public var eosTokenId: Int = 2
    public var padTokenId: Int = 0
    public var dropout: Float = 0
    /// YaRN RoPE extension at inference (upstream `inference_rope_scaling`); off by default.
    public var yarn: Bool = false
    public var moe: MoEConfig?
    /// Parameter sharing: blocks 2k and 2k+1 are one block run twice (half the block parameters,
    /// the same compute). Our option, not upstream's; `share_block_pairs` in config.json.
    public var shareBlockPairs: Bool = false

    /// The FFN width MiniMind2 derives from the hidden size: `64·ceil(int(8·hidden/3)/64)`.
    public static func minimind2Intermediate(_ hidden: Int) -> Int { 64 * ((8 * hidden / 3 + 63) / 64) }
    /// The FFN width minimind-3 derives from the hidden size: `ceil(hidden·π/64)·64`.
    public static func minimind3Intermediate(_ hidden: Int) -> Int {
        Int((Double(hidden) * Double.pi / 64).rounded(.up)) * 64
    }

    /// A MiniMind2 (Llama-style) decoder.
    public static func minimind2(hidden: Int, layers: Int, moe: Bool = false) -> LanguageModelConfig {
        let inter = minimind2Intermediate(hidden)
        return LanguageModelConfig(hiddenSize: hidden, numHiddenLayers: layers, numKeyValueHeads: 2, headDim: hidden / 8,
                                   intermediateSize: inter, rmsNormEps: 1e-5, qkNorm: false,
                                   moe: moe ? MoEConfig(flavour: .minimind2, expertIntermediateSize: inter) : nil)
    }

    /// A minimind-3 (Qwen3-style, QK-norm) decoder.
    public static func minimind3(hidden: Int, layers: Int, moe: Bool = false) -> LanguageModelConfig {
        let inter = minimind3Intermediate(hidden)
        return LanguageModelConfig(hiddenSize: hidden, numHiddenLayers: layers, numKeyValueHeads: 4, headDim: hidden / 8,
                                   intermediateSize: inter, rmsNormEps: 1e-6, qkNorm: true,
                                   moe: moe ? MoEConfig(flavour: .minimind3, expertIntermediateSize: inter) : nil)
    }

    public init(vocabSize: Int = 6400, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int = 8,
                numKeyValueHeads: Int, headDim: Int, intermediateSize: Int, rmsNormEps: Float,
                ropeTheta: Double = 1e6, maxPositionEmbeddings: Int = 32768, qkNorm: Bool,
                tieWordEmbeddings: Bool = true, moe: MoEConfig? = nil) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        self.headDim = headDim
        self.intermediateSize = intermediateSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.qkNorm = qkNorm
        self.tieWordEmbeddings = tieWordEmbeddings
        self.moe = moe
    }

    /// Checks the numbers agree with each other; a config from a file may not.
    public func validate() throws {
        func fail(_ why: String) -> ModelError { .invalidConfig(why) }
        try checkRanges()
        guard vocabSize > 0, hiddenSize > 0, numHiddenLayers > 0, intermediateSize > 0, headDim > 0 else {
            throw fail("sizes must be positive (vocab \(vocabSize), hidden \(hiddenSize), layers \(numHiddenLayers), ffn \(intermediateSize), head_dim \(headDim))")
        }
        guard numAttentionHeads > 0, numKeyValueHeads > 0, numAttentionHeads % numKeyValueHeads == 0 else {
            throw fail("num_attention_heads \(numAttentionHeads) must be a positive multiple of num_key_value_heads \(numKeyValueHeads)")
        }
        if shareBlockPairs {
            guard numHiddenLayers % 2 == 0 else { throw fail("share_block_pairs needs an even num_hidden_layers, got \(numHiddenLayers)") }
            guard moe == nil else { throw fail("share_block_pairs needs dense feed-forwards (a shared MoE block's router loss would count once)") }
        }
        guard headDim % 2 == 0 else { throw fail("head_dim \(headDim) must be even for RoPE") }
        for (name, id) in [("bos", bosTokenId), ("eos", eosTokenId), ("pad", padTokenId)] where !(0..<vocabSize).contains(id) {
            throw ModelError.tokenIdOutOfRange(name: name, id: id, vocabulary: vocabSize)
        }
        guard maxPositionEmbeddings > 0 else { throw fail("max_position_embeddings must be positive") }
        if let moe {
            guard moe.numExperts > 0, moe.expertsPerToken > 0, moe.expertsPerToken <= moe.numExperts else {
                throw fail("MoE needs 0 < num_experts_per_tok (\(moe.expertsPerToken)) ≤ num_experts (\(moe.numExperts))")
            }
        }
    }

    // MARK: config.json

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
        case intermediateSize = "intermediate_size", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case maxPositionEmbeddings = "max_position_embeddings", qkNorm = "qk_norm"
        case tieWordEmbeddings = "tie_word_embeddings", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case padTokenId = "pad_token_id", dropout, yarn = "inference_rope_scaling", useMoe = "use_moe"
        case numExperts = "num_experts", nRoutedExperts = "n_routed_experts", expertsPerToken = "num_experts_per_tok"
        case sharedExperts = "n_shared_experts", moeIntermediateSize = "moe_intermediate_size"
        case routerAuxLossCoef = "router_aux_loss_coef", auxLossAlpha = "aux_loss_alpha", normTopK = "norm_topk_prob"
        case modelType = "model_type", moeFlavour = "moe_flavour", shareBlockPairs = "share_block_pairs"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys) throws -> T? { try c.decodeIfPresent(T.self, forKey: key) }
        hiddenSize = try get(.hiddenSize) ?? 768
        numHiddenLayers = try get(.numHiddenLayers) ?? 8
        vocabSize = try get(.vocabSize) ?? 6400
        numAttentionHeads = try get(.numAttentionHeads) ?? 8
        // Checked before the defaults below are derived from it (8·hidden would overflow).
        try InputRange.check("config.json hidden_size", hiddenSize, in: 1...ConfigLimits.maxHiddenSize)
        let modelType: String? = try get(.modelType)
        // Upstream minimind-3 always has QK-norm; transformers' Qwen3 too. MiniMind2/Llama never.
        let hasRouterCoef = (try get(.routerAuxLossCoef) as Float?) != nil
        let defaultQK = modelType.map { $0.contains("qwen3") || $0 == "minimind3" } ?? hasRouterCoef
        qkNorm = try get(.qkNorm) ?? defaultQK
        numKeyValueHeads = try get(.numKeyValueHeads) ?? (qkNorm ? 4 : 2)
        headDim = try get(.headDim) ?? (hiddenSize / max(numAttentionHeads, 1))
        intermediateSize = try get(.intermediateSize)
            ?? (qkNorm ? Self.minimind3Intermediate(hiddenSize) : Self.minimind2Intermediate(hiddenSize))
        rmsNormEps = try get(.rmsNormEps) ?? (qkNorm ? 1e-6 : 1e-5)
        ropeTheta = try get(.ropeTheta) ?? 1e6
        maxPositionEmbeddings = try get(.maxPositionEmbeddings) ?? 32768
        tieWordEmbeddings = try get(.tieWordEmbeddings) ?? true
        bosTokenId = try get(.bosTokenId) ?? 1
        eosTokenId = try get(.eosTokenId) ?? 2
        padTokenId = try get(.padTokenId) ?? 0
        dropout = try get(.dropout) ?? 0
        yarn = try get(.yarn) ?? false
        shareBlockPairs = try get(.shareBlockPairs) ?? false
        if try get(.useMoe) ?? false {
            let flavour: MoEConfig.Flavour = try get(.moeFlavour) ?? (qkNorm ? .minimind3 : .minimind2)
            moe = MoEConfig(flavour: flavour,
                            numExperts: try get(.numExperts) ?? (try get(.nRoutedExperts)) ?? 4,
                            expertsPerToken: try get(.expertsPerToken), sharedExperts: try get(.sharedExperts),
                            expertIntermediateSize: try get(.moeIntermediateSize) ?? intermediateSize,
                            auxLossCoefficient: try get(.routerAuxLossCoef) ?? (try get(.auxLossAlpha)),
                            normalizeTopK: try get(.normTopK) ?? true)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(qkNorm ? "minimind3" : "minimind2", forKey: .modelType)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(qkNorm, forKey: .qkNorm)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(bosTokenId, forKey: .bosTokenId)
        try c.encode(eosTokenId, forKey: .eosTokenId)
        try c.encode(padTokenId, forKey: .padTokenId)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(yarn, forKey: .yarn)
        try c.encode(moe != nil, forKey: .useMoe)
        if shareBlockPairs { try c.encode(true, forKey: .shareBlockPairs) }  // absent: configs without sharing stay as they were
        if let moe {
            try c.encode(moe.flavour, forKey: .moeFlavour)
            try c.encode(moe.numExperts, forKey: .numExperts)
            try c.encode(moe.expertsPerToken, forKey: .expertsPerToken)
            try c.encode(moe.sharedExperts, forKey: .sharedExperts)
            try c.encode(moe.expertIntermediateSize, forKey: .moeIntermediateSize)
            try c.encode(moe.auxLossCoefficient, forKey: .routerAuxLossCoef)
            try c.encode(moe.normalizeTopK, forKey: .normTopK)
        }
    }
}
