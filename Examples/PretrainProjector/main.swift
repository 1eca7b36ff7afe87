// Vision-language pretraining of a tiny MiniMind2-V-shaped model on the committed shapes data:
// everything frozen but the projector (the vision encoder is always frozen), upstream's schedule,
// AdamW and clipping. Uses only `import MiniMindV`. Run:
//   swift run -c release PretrainProjector [output-folder]
import Foundation
import MiniMindV

let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data")
let out = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "example-out")
try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

// 1. The data (older JSONL + image-folder format) and a small BPE tokenizer trained on its text.
let captions = try JSONLConversationDataset(url: data.appendingPathComponent("captions.jsonl"),
                                            imageFolder: data.appendingPathComponent("shapes"))
let sft = try ParquetConversationDataset(url: data.appendingPathComponent("sft.parquet"))
var texts = ["<|im_start|>system\nYou are a helpful assistant<|im_end|>\n", "<|im_start|>user\n", "<|im_start|>assistant\n"]
for set in [captions as ConversationDataset, sft] {
    for i in 0..<set.count { texts += try set.row(i).messages.compactMap { $0.content?.replacingOccurrences(of: "<image>", with: "") } }
}
let bpe = try BPETrainer(vocabSize: 320, specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], minFrequency: 2).train(texts)
let tokenizer = try Tokenizer(contentsOf: try bpe.write(to: out.appendingPathComponent("tokenizer.json")))

// 2. A tiny model: 64-wide, 2-layer MiniMind2 LM; a 2-layer CLIP-like tower on 32×32 pictures (16 tokens).
var language = LanguageModelConfig.minimind2(hidden: 64, layers: 2)
language.vocabSize = tokenizer.vocabSize
let vision = VisionConfig(kind: .clip, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                          imageSize: 32, patchSize: 8, layerNormEps: 1e-5, activation: .quickGelu)
let preprocessing = ImagePreprocessing(kind: .clip, resize: .exact(width: 32, height: 32), resample: .bicubic, crop: nil,
                                       rescaleFactor: 1.0 / 255, mean: ImagePreprocessing.clipMean, std: ImagePreprocessing.clipStd)
let config = VLMConfig(language: language, vision: vision, projector: .linear, imagePlaceholder: "@",
                       imageTokenId: tokenizer.encode("@")[0])
let encoder = try ViTVisionEncoder(config: vision, preprocessing: preprocessing, seed: 1)
let model = try MiniMindVLM.forTraining(config: config, vision: encoder, startWeights: nil, allowMissingProjector: true, seed: 7)
// A random LM stands in for upstream's text model (llm_512.pth); embeddings with std 0.02 (as
// Hugging Face initialises them) keep its tied output logits moderate.
for i in 0..<model.language.embeddingTable.count { model.language.embeddingTable.mutablePointer[i] *= 0.02 }

// 3. Upstream's pretrain recipe, with the freeze policy "projector only" and numbers for a tiny run.
var recipe = TrainingRecipe.pretrain(for: config)
recipe.trainable = ["vision_proj"]
recipe.learningRate = 4e-3
recipe.batchSize = 8
recipe.epochs = 20
recipe.maxSeqLen = 96
recipe.saveInterval = 20

let trainer = try VLMTrainer.forConversations(model: model, tokenizer: tokenizer, template: ChatTemplate(kind: .minimind2), recipe: recipe, data: captions,
                                              featureCache: out.appendingPathComponent("feature-cache"),
                                              outputDirectory: out)
trainer.callbacks = [ProgressLineCallback(interval: 10), try MetricsLogCallback(url: out.appendingPathComponent("pretrain_metrics.jsonl"))]
print("trainable: \(model.namedParameters(trainableOnly: true).map(\.0)) (\(model.parameterCount(trainableOnly: true)) parameters)")
let summary = try trainer.run()
print(String(format: "pretrain: %d steps, loss %.3f → %.3f", summary.steps, summary.losses.first ?? 0, summary.losses.last ?? 0))
print("wrote \(out.path)/\(trainer.releaseBaseName).pth (fp16, upstream layout), \(trainer.lossCurveFileName), \(trainer.resumeFileName)")
