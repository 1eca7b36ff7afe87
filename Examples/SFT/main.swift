// Full supervised fine-tuning (projector + whole LM) of the tiny MiniMind2-V-shaped model on the
// committed Parquet conversations, starting from PretrainProjector's weights when present.
// Uses only `import MiniMindV`. Run after PretrainProjector, with the same output folder:
//   swift run -c release SFTExample [output-folder]
import Foundation
import MiniMindV

let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Data")
let out = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "example-out")
try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

// 1. The same tokenizer as PretrainProjector (BPE training is deterministic on the same text).
let captions = try JSONLConversationDataset(url: data.appendingPathComponent("captions.jsonl"),
                                            imageFolder: data.appendingPathComponent("shapes"))
let conversations = try ParquetConversationDataset(url: data.appendingPathComponent("sft.parquet"))
var texts = ["<|im_start|>system\nYou are a helpful assistant<|im_end|>\n", "<|im_start|>user\n", "<|im_start|>assistant\n"]
for set in [captions as ConversationDataset, conversations] {
    for i in 0..<set.count { texts += try set.row(i).messages.compactMap { $0.content?.replacingOccurrences(of: "<image>", with: "") } }
}
let bpe = try BPETrainer(vocabSize: 320, specialTokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], minFrequency: 2).train(texts)
let tokenizer = try Tokenizer(contentsOf: try bpe.write(to: out.appendingPathComponent("tokenizer.json")))

// 2. The tiny model; start from the pretrain stage's release weights if they exist.
var language = LanguageModelConfig.minimind2(hidden: 64, layers: 2)
language.vocabSize = tokenizer.vocabSize
let vision = VisionConfig(kind: .clip, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
                          imageSize: 32, patchSize: 8, layerNormEps: 1e-5, activation: .quickGelu)
let preprocessing = ImagePreprocessing(kind: .clip, resize: .exact(width: 32, height: 32), resample: .bicubic, crop: nil,
                                       rescaleFactor: 1.0 / 255, mean: ImagePreprocessing.clipMean, std: ImagePreprocessing.clipStd)
let config = VLMConfig(language: language, vision: vision, projector: .linear, imagePlaceholder: "@",
                       imageTokenId: tokenizer.encode("@")[0])
let encoder = try ViTVisionEncoder(config: vision, preprocessing: preprocessing, seed: 1)
let pretrained = out.appendingPathComponent("pretrain_vlm_64.safetensors")
let start = FileManager.default.fileExists(atPath: pretrained.path) ? try Weights.read(pretrained) : nil
print(start == nil ? "no \(pretrained.lastPathComponent): starting from random weights" : "starting from \(pretrained.lastPathComponent)")
let model = try MiniMindVLM.forTraining(config: config, vision: encoder, startWeights: start, allowMissingProjector: false, seed: 7)
if start == nil {  // as in PretrainProjector: small embeddings for a random LM
    for i in 0..<model.language.embeddingTable.count { model.language.embeddingTable.mutablePointer[i] *= 0.02 }
}

// 3. Upstream's SFT recipe (projector + whole LM), numbers for a tiny run; features come from the
//    same cache folder as the pretrain stage (keyed by image content and encoder).
var recipe = TrainingRecipe.sft(for: config)
recipe.learningRate = 3e-3
recipe.batchSize = 4
recipe.epochs = 12
recipe.maxSeqLen = 128
recipe.saveInterval = 50

let trainer = try VLMTrainer.forConversations(model: model, tokenizer: tokenizer, template: ChatTemplate(kind: .minimind2), recipe: recipe, data: conversations,
                                              featureCache: out.appendingPathComponent("feature-cache"),
                                              outputDirectory: out)
trainer.callbacks = [ProgressLineCallback(interval: 10), try MetricsLogCallback(url: out.appendingPathComponent("sft_metrics.jsonl"))]
let summary = try trainer.run()
print(String(format: "sft: %d steps, loss %.3f → %.3f", summary.steps, summary.losses.first ?? 0, summary.losses.last ?? 0))
print("wrote \(out.path)/\(trainer.releaseBaseName).pth (fp16, upstream layout), \(trainer.lossCurveFileName), \(trainer.resumeFileName)")
