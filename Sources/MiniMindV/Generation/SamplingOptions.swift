import Foundation

/// How the next token is chosen and when generation stops. Defaults are upstream's evaluation
/// settings (minimind-v eval_vlm.py: temperature 0.7, top-p 0.85; model.generate: top-k 50).
public struct SamplingOptions: Equatable, Sendable {
    /// Logits are divided by this. 0 means greedy; `validate()` refuses negative values.
    public var temperature: Float = 0.7
    /// Keep the smallest probability-sorted prefix whose mass reaches this (1 = off).
    public var topP: Float = 0.85
    /// Keep the k largest logits (ties with the k-th kept, as upstream); 0 = off.
    public var topK: Int = 50
    /// > 1 discourages every id already in the sequence (prompt included); 1 = off.
    public var repetitionPenalty: Float = 1.0
    /// Argmax instead of drawing (upstream `do_sample=False`).
    public var greedy: Bool = false
    /// Seed of the draw; nil picks a random one (reported in GenerationStats.seed).
    public var seed: UInt64?
    public var maxNewTokens: Int = 512
    /// Generation ends when the text contains one of these; the text is cut before it.
    public var stopStrings: [String] = []
    /// Ids that end generation (nil: the tokenizer's eos, else the model config's; [] disables).
    public var eosTokenIds: [Int]?

    public init(temperature: Float = 0.7, topP: Float = 0.85, topK: Int = 50, repetitionPenalty: Float = 1.0,
                greedy: Bool = false, seed: UInt64? = nil, maxNewTokens: Int = 512, stopStrings: [String] = [],
                eosTokenIds: [Int]? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
        self.greedy = greedy
        self.seed = seed
        self.maxNewTokens = maxNewTokens
        self.stopStrings = stopStrings
        self.eosTokenIds = eosTokenIds
    }

    /// Greedy decoding (argmax), the setting parity tests use.
    public static func greedy(maxNewTokens: Int = 512) -> SamplingOptions {
        SamplingOptions(greedy: true, maxNewTokens: maxNewTokens)
    }

    /// Argmax when asked, or when the temperature leaves nothing to draw from.
    public var isGreedy: Bool { greedy || temperature <= 0 }

    /// Rejects values the sampler cannot use, naming the field.
    public func validate() throws {
        try InputRange.check("SamplingOptions.temperature", Double(temperature), in: 0...Double(Float.greatestFiniteMagnitude), note: "0 is greedy")
        guard topP > 0, topP <= 1 else { throw GenerationError.invalidOption("top-p must be in (0, 1], found \(topP)") }
        guard topK >= 0 else { throw GenerationError.invalidOption("top-k must be 0 (off) or positive, found \(topK)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw GenerationError.invalidOption("repetition penalty must be a positive number, found \(repetitionPenalty)")
        }
        try InputRange.check("SamplingOptions.maxNewTokens", maxNewTokens, in: 0...ConfigLimits.maxPositions,
                             note: "no model has more positions")
        if stopStrings.contains("") { throw GenerationError.invalidOption("a stop string must not be empty") }
    }
}
