import Foundation

/// Why generation ended.
public enum FinishReason: String, Codable, Sendable {
    /// An end-of-sequence id was drawn (it is the last of `ids`).
    case eos
    /// The text reached a stop string (the text is cut before it; `ids` keep the token that completed it).
    case stopString
    /// `maxNewTokens` were generated.
    case maxTokens
    /// The context (KV cache) is full.
    case contextFull
    /// The task was cancelled.
    case cancelled
}

/// Time spent per stage and the resulting rates.
public struct GenerationStats: Equatable, Sendable {
    /// Image decode-independent preprocessing (resize, crop, normalise), seconds.
    public var preprocessSeconds: Double = 0
    /// Vision encoder + projector, seconds (0 when cached features were reused).
    public var imageEncodeSeconds: Double = 0
    public var prefillSeconds: Double = 0
    public var decodeSeconds: Double = 0
    /// Tokens run through the model in the prefill (a chat follow-up runs only its new ones).
    public var prefillTokens: Int = 0
    /// Prompt tokens whose keys and values were copied from a cached prefix instead (`PrefixCache`).
    public var cachedPromptTokens: Int = 0
    /// Tokens generated (each needs one decode step, except the last).
    public var generatedTokens: Int = 0
    public var images: Int = 0
    /// Images whose projected features came from the cache.
    public var cachedImages: Int = 0
    public var seed: UInt64 = 0

    public init() {}

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(prefillTokens) / prefillSeconds : 0 }
    /// Decode steps per second (steps = generated tokens − 1: the first comes from the prefill).
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 ? Double(max(generatedTokens - 1, 0)) / decodeSeconds : 0
    }
    public var totalSeconds: Double { preprocessSeconds + imageEncodeSeconds + prefillSeconds + decodeSeconds }

    /// One line for people: `prefill 120 tok in 0.05 s (2400 tok/s), decode 31 tok (95 tok/s), …`.
    public var summary: String {
        func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
        var parts: [String] = []
        if images > 0 {
            parts.append("images \(images) (\(cachedImages) cached): preprocess \(f(preprocessSeconds * 1000, 1)) ms, "
                         + "encode \(f(imageEncodeSeconds * 1000, 1)) ms")
        }
        parts.append("prefill \(prefillTokens) tok in \(f(prefillSeconds * 1000, 1)) ms (\(f(prefillTokensPerSecond, 1)) tok/s)")
        parts.append("decode \(generatedTokens) tok in \(f(decodeSeconds * 1000, 1)) ms (\(f(decodeTokensPerSecond, 1)) tok/s)")
        return parts.joined(separator: ", ")
    }
}

/// The outcome of one generation.
public struct GenerationResult: Equatable, Sendable {
    /// The generated text (special tokens skipped, cut before a stop string).
    public var text: String
    /// The generated ids, in order (an eos that ended generation is included, as transformers does).
    public var ids: [Int]
    public var finishReason: FinishReason
    public var stats: GenerationStats
}

/// What the streaming API yields: text as it becomes complete, then the result.
public enum GenerationEvent: Sendable {
    /// New text (never a partial UTF-8 character; may be empty when a token completes no character)
    /// and the id that produced it (nil for text held back to the end of the stream).
    case text(String, tokenId: Int?)
    /// The final result (also carries any text held back to the end).
    case finished(GenerationResult)
}
