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
        -> (objective: any VisionTowerObjective, samples: [TrainingSample])
    /// The held-out samples the trained objective's `heldOutScore` is measured on (the test images),
    /// with what the score means (the report's label); nil when there are none.
    func heldOut(tokenizer: Tokenizer, data: ScratchData) throws -> (label: String, samples: [TrainingSample])?
}

/// CLIP-style image–text contrast (`ImageTextContrastiveObjective`): each training image against
/// its captions, or, without captions, against every answer given about it.
public struct ImageTextStage: ScratchVisionStage {
    public init() {}
    public var name: String { "vision encoder (image–text contrast)" }

    public func prepare(encoder: ViTVisionEncoder, tokenizer: Tokenizer, data: ScratchData, seed: UInt64) throws
        -> (objective: any VisionTowerObjective, samples: [TrainingSample]) {
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
        // The test images' texts too, under their own names, so that `heldOutScore` finds them.
        for entry in heldOutEntries(tokenizer: tokenizer, data: data) { texts[entry.sample.name] = entry.ids }
        return (ImageTextContrastiveObjective(encoder: encoder, texts: texts, vocabSize: tokenizer.vocabSize, seed: seed), samples)
    }

    public func heldOut(tokenizer: Tokenizer, data: ScratchData) throws -> (label: String, samples: [TrainingSample])? {
        let entries = heldOutEntries(tokenizer: tokenizer, data: data)
        guard !entries.isEmpty else { return nil }
        let distinct = Set(entries.map(\.ids)).count
        return ("unseen test images whose nearest text (of \(distinct)) is their own answers", entries.map(\.sample))
    }

    /// One sample per distinct test image with the text of its answers (images without text left out).
    func heldOutEntries(tokenizer: Tokenizer, data: ScratchData) -> [(sample: TrainingSample, ids: [Int])] {
        ScratchData.imageTexts(data.test).enumerated().compactMap { k, entry -> (sample: TrainingSample, ids: [Int])? in
            let ids = tokenizer.encode(entry.text)
            guard !ids.isEmpty else { return nil }
            return (TrainingSample(ids: [0, 0], labels: [TrainingSample.ignoreLabel, TrainingSample.ignoreLabel],
                                   images: [entry.image], name: "held-out \(entry.name)#\(k)"), ids)
        }
    }
}
