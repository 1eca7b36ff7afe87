// Vision-language pretraining of a tiny MiniMind2-V-shaped model on the committed shapes data:
// everything frozen but the projector (the vision encoder is always frozen), upstream's schedule,
// AdamW and clipping. Uses only the library API (MiniMindV, and the examples' shared setup in Examples/Support). Run:
//   swift run -c release PretrainProjector [output-folder]
import Foundation
import MiniMindV
import ExampleSupport

// 1–2. The committed data, its BPE tokenizer and the tiny configuration (Examples/Support).
let setup = try TinyShapesSetup()
let (out, captions, tokenizer, config) = (setup.output, setup.captions, setup.tokenizer, setup.config)
let model = try MiniMindVLM.forTraining(config: config, vision: setup.encoder, startWeights: nil, allowMissingProjector: true, seed: 7)
setup.shrinkRandomEmbeddings(of: model)

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
