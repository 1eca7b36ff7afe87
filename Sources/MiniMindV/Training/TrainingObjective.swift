import Foundation

/// What a training run minimises, plugged into `VLMTrainer`: the trainer owns the data order,
/// schedule, optimizer, clipping, checkpoints and events; the objective turns a micro-batch into a
/// loss and may name the tensors it trains (a stage that trains something other than the VLM's
/// own tensors, e.g. a vision tower with contrastive heads).
///
/// ```swift
/// let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(texts),
///                              objective: LanguageModelObjective())
/// ```
public protocol TrainingObjective: AnyObject {
    /// The tensors to train, named; nil trains the model's tensors left trainable by the recipe's
    /// freeze policy (which is then applied). Called once when the trainer is made.
    func trainableParameters(model: MiniMindVLM) throws -> [(String, Tensor)]?
    /// Loss of one micro-batch, with autograd.
    func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor
    /// Called when a run starts and ends (train/eval modes of what the objective trains).
    func willTrain()
    func didTrain()
}

public extension TrainingObjective {
    func trainableParameters(model: MiniMindVLM) throws -> [(String, Tensor)]? { nil }
    func willTrain() {}
    func didTrain() {}
}

/// The MiniMind-V objective (the default): cross-entropy over the counted targets (assistant
/// answers), image features spliced in, plus the MoE router's auxiliary loss when the model has one.
public final class VisionLanguageObjective: TrainingObjective {
    public init() {}
    public func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor {
        var loss = try model.loss(batch, features: features)
        if let aux = model.language.auxiliaryLoss { loss = loss + aux }
        return loss
    }
}

/// Text-only language modelling: the same cross-entropy (+ MoE aux) with no images; which tokens
/// count is the samples' labels (`TrainingSample.languageModeling` makes every token a target).
/// A sample that carries images is a data error here.
public final class LanguageModelObjective: TrainingObjective {
    public init() {}
    public func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor {
        if let b = batch.imagesPerSample.firstIndex(where: { !$0.isEmpty }) {
            throw TrainingDataError.malformedRow(row: batch.sampleNames[b], reason: "has an image but the objective is text-only language modelling")
        }
        var loss = model.loss(ids: batch.ids, targets: batch.targets, batch: batch.batch,
                              labelSmoothing: batch.labelSmoothing, targetWeights: batch.targetWeights)
        if let aux = model.language.auxiliaryLoss { loss = loss + aux }
        return loss
    }
}

extension TrainingSample {
    /// Plain language modelling on `ids`: every token after the first is a target.
    public static func languageModeling(ids: [Int], name: String = "") -> TrainingSample {
        TrainingSample(ids: ids, labels: ids, name: name)
    }
}
