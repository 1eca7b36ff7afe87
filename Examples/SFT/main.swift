// Full supervised fine-tuning (projector + whole LM) of the tiny MiniMind2-V-shaped model on the
// committed Parquet conversations, starting from PretrainProjector's weights when present.
// Uses only the library API (MiniMindV, and the examples' shared setup in Examples/Support). Run after PretrainProjector, with the same output folder:
//   swift run -c release SFTExample [output-folder]
import Foundation
import MiniMindV
import ExampleSupport

// 1–2. The same data, tokenizer and tiny configuration as PretrainProjector (Examples/Support);
//      start from the pretrain stage's release weights if they exist.
let setup = try TinyShapesSetup()
let (out, conversations, tokenizer, config) = (setup.output, setup.conversations, setup.tokenizer, setup.config)
let pretrained = out.appendingPathComponent("pretrain_vlm_64.safetensors")
let start = FileManager.default.fileExists(atPath: pretrained.path) ? try Weights.read(pretrained) : nil
print(start == nil ? "no \(pretrained.lastPathComponent): starting from random weights" : "starting from \(pretrained.lastPathComponent)")
let model = try MiniMindVLM.forTraining(config: config, vision: setup.encoder, startWeights: start, allowMissingProjector: false, seed: 7)
if start == nil { setup.shrinkRandomEmbeddings(of: model) }

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
