// The recipe's vision stage is pluggable: by default the tower learns from whole images against
// their text (`ImageTextStage`); data that knows what each region shows (the built-in demo's grid
// cells) plugs in a per-region contrast instead.
import Foundation

/// What the recipe's vision stage trains on and how it is scored on held-out images.
public protocol ScratchVisionStage {
    /// The stage's name in progress lines, the report and checkpoints.
    var name: String { get }
    /// A fresh objective training `encoder` and its samples (one per training image). Called again
    /// for a time-budget probe, which must not share trained state with the real run.
    func prepare(encoder: ViTVisionEncoder, tokenizer: Tokenizer, data: ScratchData, seed: UInt64) throws
        -> (objective: TrainingObjective, samples: [TrainingSample])
    /// After training: a held-out score of the objective (label for the report, value in 0...1).
    func heldOut(_ objective: TrainingObjective, tokenizer: Tokenizer, data: ScratchData) throws -> (label: String, value: Double)?
}

/// CLIP-style image–text contrast (`ImageTextContrastiveObjective`): each training image against
/// its captions, or, without captions, against every answer given about it.
public struct ImageTextStage: ScratchVisionStage {
    public init() {}
    public var name: String { "vision encoder (image–text contrast)" }

    public func prepare(encoder: ViTVisionEncoder, tokenizer: Tokenizer, data: ScratchData, seed: UInt64) throws
        -> (objective: TrainingObjective, samples: [TrainingSample]) {
        var texts: [String: [Int]] = [:], samples: [TrainingSample] = []
        for (k, entry) in ScratchData.imageTexts(data.pretrainRows).enumerated() {
            let ids = tokenizer.encode(entry.text)
            guard !ids.isEmpty else { continue }
            let name = "\(entry.name)#\(k)"
            texts[name] = ids
            samples.append(TrainingSample(ids: [0, 0], labels: [TrainingSample.ignoreLabel, TrainingSample.ignoreLabel],
                                          images: [entry.image], name: name))
        }
        guard !samples.isEmpty else { throw ScratchError.data("no image has any answer or caption text for the vision stage") }
        return (ImageTextContrastiveObjective(encoder: encoder, texts: texts, vocabSize: tokenizer.vocabSize, seed: seed), samples)
    }

    public func heldOut(_ objective: TrainingObjective, tokenizer: Tokenizer, data: ScratchData) throws -> (label: String, value: Double)? {
        guard let objective = objective as? ImageTextContrastiveObjective else { return nil }
        let pairs = ScratchData.imageTexts(data.test).map { (image: $0.image, ids: tokenizer.encode($0.text)) }.filter { !$0.ids.isEmpty }
        guard !pairs.isEmpty else { return nil }
        let distinct = Set(pairs.map(\.ids)).count
        return ("unseen test images whose nearest text (of \(distinct)) is their own answers", try objective.retrievalAccuracy(pairs))
    }
}
