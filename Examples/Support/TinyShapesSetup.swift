// What both examples share: the committed shapes data, a BPE tokenizer trained on its text, and the
// tiny MiniMind2-V-shaped configuration (64-wide 2-layer LM; 2-layer CLIP-like tower on 32×32 pictures,
// 16 tokens). BPE training is deterministic, so both examples get the same tokenizer. Library API only.
import Foundation
import MiniMindV

public struct TinyShapesSetup {
    public let data: URL
    public let output: URL
    public let captions: JSONLConversationDataset
    public let conversations: ParquetConversationDataset
    public let tokenizer: Tokenizer
    public let config: VLMConfig
    public let encoder: ViTVisionEncoder

    /// `output` is the first command-line argument, or `example-out`.
    public init(arguments: [String] = CommandLine.arguments) throws {
        data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data")
        output = URL(fileURLWithPath: arguments.dropFirst().first ?? "example-out")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

        // The data (older JSONL + image-folder format, and Parquet) and a small BPE tokenizer trained on its text.
        captions = try JSONLConversationDataset(url: data.appendingPathComponent("captions.jsonl"),
                                                imageFolder: data.appendingPathComponent("shapes"))
        conversations = try ParquetConversationDataset(url: data.appendingPathComponent("sft.parquet"))
        var texts = ["<|im_start|>system\nYou are a helpful assistant<|im_end|>\n", "<|im_start|>user\n", "<|im_start|>assistant\n"]
        for set in [captions as ConversationDataset, conversations] {
            for i in 0..<set.count { texts += try set.row(i).messages.compactMap { $0.content?.replacingOccurrences(of: "<image>", with: "") } }
        }
        let bpe = try BPETrainer(vocabSize: 320, specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], minFrequency: 2).train(texts)
        tokenizer = try Tokenizer(contentsOf: try bpe.write(to: output.appendingPathComponent("tokenizer.json")))

        // The tiny model's configuration and its (random, frozen) vision tower.
        var language = LanguageModelConfig.minimind2(hidden: 64, layers: 2)
        language.vocabSize = tokenizer.vocabSize
        let vision = VisionConfig(kind: .clip, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                                  imageSize: 32, patchSize: 8, layerNormEps: 1e-5, activation: .quickGelu)
        let preprocessing = ImagePreprocessing(kind: .clip, resize: .exact(width: 32, height: 32), resample: .bicubic, crop: nil,
                                               rescaleFactor: 1.0 / 255, mean: ImagePreprocessing.clipMean, std: ImagePreprocessing.clipStd)
        config = VLMConfig(language: language, vision: vision, projector: .linear, imagePlaceholder: "@",
                           imageTokenId: tokenizer.encode("@")[0])
        encoder = try ViTVisionEncoder(config: vision, preprocessing: preprocessing, seed: 1)
    }

    /// A random LM stands in for upstream's text model (llm_512.pth); embeddings with std 0.02 (as
    /// Hugging Face initialises them) keep its tied output logits moderate.
    public func shrinkRandomEmbeddings(of model: MiniMindVLM) {
        for i in 0..<model.language.embeddingTable.count { model.language.embeddingTable.mutablePointer[i] *= 0.02 }
    }
}
