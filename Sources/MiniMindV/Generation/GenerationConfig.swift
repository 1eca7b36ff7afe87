import Foundation

/// A model folder's `generation_config.json`: how the model is meant to be asked. The sampling fields
/// are Hugging Face's (`do_sample`, `temperature`, `top_p`, `top_k`, `repetition_penalty`,
/// `max_new_tokens`, `eos_token_id`), so transformers reads the same file; the `minimindv_*` fields
/// are ours: the prompts the model was trained with, which a caption or a chat should use unless
/// told otherwise. Every field is optional; what is missing falls back to the caller's default.
public struct GenerationConfig: Codable, Equatable, Sendable {
    public static let fileName = "generation_config.json"
    /// What a caption asks when the model folder does not say: upstream MiniMind-V's question
    /// ("describe the content of this picture"), which its released models were trained on.
    public static let upstreamCaptionPrompt = "<image>\n描述一下这张图片的内容。"

    public var doSample: Bool?
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int?
    public var repetitionPenalty: Float?
    public var maxNewTokens: Int?
    /// One id or a list in the file (transformers writes either); always a list here.
    public var eosTokenId: [Int]?
    /// The user turn that asks for a caption, with `<image>` where the image goes
    /// (the demo: "<image>\nDescribe the image.").
    public var captionPrompt: String?
    /// The system prompt the chat data used (nil: the chat template's default).
    public var systemPrompt: String?
    /// Questions of the kinds the model was trained on, for people trying it out.
    public var exampleQuestions: [String]?

    public init(doSample: Bool? = nil, temperature: Float? = nil, topP: Float? = nil, topK: Int? = nil,
                repetitionPenalty: Float? = nil, maxNewTokens: Int? = nil, eosTokenId: [Int]? = nil,
                captionPrompt: String? = nil, systemPrompt: String? = nil, exampleQuestions: [String]? = nil) {
        self.doSample = doSample
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
        self.maxNewTokens = maxNewTokens
        self.eosTokenId = eosTokenId
        self.captionPrompt = captionPrompt
        self.systemPrompt = systemPrompt
        self.exampleQuestions = exampleQuestions
    }

    enum CodingKeys: String, CodingKey {
        case doSample = "do_sample", temperature, topP = "top_p", topK = "top_k"
        case repetitionPenalty = "repetition_penalty", maxNewTokens = "max_new_tokens", eosTokenId = "eos_token_id"
        case captionPrompt = "minimindv_caption_prompt", systemPrompt = "minimindv_system_prompt"
        case exampleQuestions = "minimindv_example_questions"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        doSample = try c.decodeIfPresent(Bool.self, forKey: .doSample)
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Float.self, forKey: .topP)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        repetitionPenalty = try c.decodeIfPresent(Float.self, forKey: .repetitionPenalty)
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenId) {
            eosTokenId = [one]
        } else {
            eosTokenId = try c.decodeIfPresent([Int].self, forKey: .eosTokenId)
        }
        captionPrompt = try c.decodeIfPresent(String.self, forKey: .captionPrompt)
        systemPrompt = try c.decodeIfPresent(String.self, forKey: .systemPrompt)
        exampleQuestions = try c.decodeIfPresent([String].self, forKey: .exampleQuestions)
    }

    /// Reads `folder/generation_config.json`; nil when the folder has none. Numbers out of range and
    /// malformed JSON are errors naming the file and the field.
    public static func load(folder: URL, vocabularySize: Int) throws -> GenerationConfig? {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let config: GenerationConfig
        do { config = try JSONDecoder().decode(GenerationConfig.self, from: Data(contentsOf: url)) } catch {
            throw ModelError.invalidConfig("\(url.path): \(error)")
        }
        do { try config.validate(vocabularySize: vocabularySize) } catch let error as GenerationError {
            throw ModelError.invalidConfig("\(url.path): \(error)")
        }
        return config
    }

    /// Writes the file atomically (keys sorted, the nil fields left out).
    public func write(folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// `base` with every field this file sets (do_sample false = greedy).
    public func samplingOptions(_ base: SamplingOptions = SamplingOptions()) -> SamplingOptions {
        var o = base
        if let doSample { o.greedy = !doSample }
        if let temperature { o.temperature = temperature }
        if let topP { o.topP = topP }
        if let topK { o.topK = topK }
        if let repetitionPenalty { o.repetitionPenalty = repetitionPenalty }
        if let maxNewTokens { o.maxNewTokens = maxNewTokens }
        if let eosTokenId { o.eosTokenIds = eosTokenId }
        return o
    }

    /// The sampling fields in the ranges the sampler accepts; eos ids inside the vocabulary.
    public func validate(vocabularySize: Int) throws {
        if let temperature, !temperature.isFinite || temperature < 0 {
            throw GenerationError.invalidOption("temperature must be a finite number ≥ 0, found \(temperature)")
        }
        if let maxNewTokens, maxNewTokens < 1 {
            throw GenerationError.invalidOption("max_new_tokens must be ≥ 1, found \(maxNewTokens)")
        }
        for id in eosTokenId ?? [] where id < 0 || id >= vocabularySize {
            throw GenerationError.invalidOption("eos_token_id \(id) is outside the vocabulary (0..<\(vocabularySize))")
        }
        try samplingOptions().validate()
    }
}
