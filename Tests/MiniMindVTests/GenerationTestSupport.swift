import Foundation
import XCTest
@testable import MiniMindV

/// Tiny models and tokenizers for the generation tests (random weights, built in milliseconds).
enum GenerationTestSupport {
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    /// A byte-level BPE tokenizer trained on a few ASCII sentences: Chinese characters and emoji
    /// are not in its vocabulary, so each is spelled by 3-4 byte tokens.
    static func tinyTokenizer(vocabSize: Int = 300) throws -> Tokenizer {
        let sentences = ["the cat sat on the mat", "a picture of a dog in the park", "what is in this image",
                         "describe the picture please", "hello world, the sky is blue", "user assistant system"]
        return try BPETrainer(vocabSize: vocabSize, specialTokens: specials, minFrequency: 1)
            .train(Array(repeating: sentences, count: 3).flatMap { $0 }).makeTokenizer()
    }

    /// A 4-token CLIP-style tower on 32×32 images.
    static func tinyVision(seed: UInt64) throws -> ViTVisionEncoder {
        let config = VisionConfig(kind: .clip, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2,
                                  imageSize: 32, patchSize: 16, layerNormEps: 1e-5, activation: .quickGelu)
        let pre = ImagePreprocessing(kind: .clip, resize: .shortestEdge(32), resample: .bicubic,
                                     crop: ImageSize(width: 32, height: 32), rescaleFactor: 1.0 / 255.0,
                                     mean: ImagePreprocessing.clipMean, std: ImagePreprocessing.clipStd)
        return try ViTVisionEncoder(config: config, preprocessing: pre, seed: seed)
    }

    static func tinyLanguageConfig(vocab: Int, qkNorm: Bool = false) -> LanguageModelConfig {
        LanguageModelConfig(vocabSize: vocab, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2,
                            headDim: 8, intermediateSize: 64, rmsNormEps: 1e-5, maxPositionEmbeddings: 512, qkNorm: qkNorm)
    }

    /// A random MiniMind-V–shaped model: '@' is the image placeholder (4 per image).
    static func tinyVLM(tokenizer: Tokenizer, seed: UInt64 = 7) throws -> MiniMindVLM {
        let vision = try tinyVision(seed: seed &+ 1)
        let lmConfig = tinyLanguageConfig(vocab: tokenizer.vocabSize)
        let atId = try XCTUnwrap(tokenizer.tokenToId("@"))
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .linear, imagePlaceholder: "@", imageTokenId: atId)
        let lm = try MiniMindLM(config: lmConfig, seed: seed)
        // With default inits a tiny random decoder greedily repeats one token whatever the prompt, which
        // would hide cache, mask and splice bugs. Weights ~ N(0, 0.3) (transformers initializer_range
        // 0.3) give varied, context-dependent greedy output.
        var g = SeededGenerator(seed: seed &+ 100)
        for (name, t) in lm.stateDict() where !name.contains("norm") {
            let p = t.mutablePointer
            for i in 0..<t.count { p[i] = 0.3 * g.nextNormal() }
        }
        let model = try MiniMindVLM(config: config, language: lm,
                                    projector: LinearProjector(visionDim: 16, hidden: 32, seed: seed &+ 2), vision: vision)
        model.eval()
        return model
    }

    /// A generator around a fixture LM (loaded weights), with a tiny vision tower beside it for prompts
    /// without images; the image placeholder '@' is the last id of the vocabulary.
    static func generator(around lm: MiniMindLM) throws -> Generator {
        let config = lm.config
        let vision = try tinyVision(seed: 1)
        let vlmConfig = VLMConfig(language: config, vision: vision.config, projector: .linear, imagePlaceholder: "@",
                                  imageTokenId: config.vocabSize - 1)
        let model = try MiniMindVLM(config: vlmConfig, language: lm,
                                    projector: LinearProjector(visionDim: 16, hidden: config.hiddenSize), vision: vision)
        model.eval()
        return Generator(model: model, tokenizer: try tinyTokenizer(), template: ChatTemplate(kind: .minimind2))
    }

    static func tinyGenerator(seed: UInt64 = 7) throws -> Generator {
        let tok = try tinyTokenizer()
        return Generator(model: try tinyVLM(tokenizer: tok, seed: seed), tokenizer: tok, template: ChatTemplate(kind: .minimind2))
    }

    /// A small deterministic test picture (a gradient with a square), different per `seed`.
    static func picture(width: Int = 40, height: Int = 36, seed: Int = 0) throws -> RGBImage {
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                let inSquare = abs(x - width / 2) < 6 + seed && abs(y - height / 2) < 6
                px[i] = UInt8((x * 255 / width + seed * 40) % 256)
                px[i + 1] = UInt8((y * 255 / height) % 256)
                px[i + 2] = inSquare ? 255 : UInt8((seed * 90) % 256)
            }
        }
        return try RGBImage(width: width, height: height, pixels: px)
    }
}
