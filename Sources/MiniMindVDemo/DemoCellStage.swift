// The demo's vision stage for the recipe: CLIP-style pretraining per grid cell
// (`RegionContrastiveObjective`), since the demo knows what each image token's cell shows. Each
// image token sees one cell of the 3×3 grid, and the questions ask about cells, so the contrast is
// made per cell: a cell against every cell phrase ("northwest circle red", …, "centre nothing": the
// caption's own pieces). An image-level contrast of mean-pooled features was tried first: it let
// colours and places identify a scene and left shapes poorly separated per cell.
import Foundation
import MiniMindV

public struct DemoCellStage: ScratchVisionStage {
    /// Every image's scene by file name (the per-cell targets).
    public let scenes: [String: DemoScene]
    public init(scenes: [String: DemoScene]) { self.scenes = scenes }

    public var name: String { "vision encoder (CLIP per cell)" }

    public func prepare(encoder: ViTVisionEncoder, tokenizer: Tokenizer, data: ScratchData, seed: UInt64) throws
        -> (objective: any VisionTowerObjective, samples: [TrainingSample]) {
        let scenes = self.scenes
        let objective = RegionContrastiveObjective(
            encoder: encoder, phrases: DemoCell.phrases.map { tokenizer.encode($0) }, vocabSize: tokenizer.vocabSize,
            seed: seed, regionClasses: { name in try DemoData.cells(of: name, scenes: scenes) })
        return (objective, try DemoData.contrastiveSamples(data.pretrainRows, scenes: scenes))
    }

    public func heldOut(tokenizer: Tokenizer, data: ScratchData) throws -> (label: String, samples: [TrainingSample])? {
        try ("cells of unseen images whose nearest phrase is their own (225 phrases: 25 contents × 9 places)",
             DemoData.contrastiveSamples(data.test, scenes: scenes))
    }
}
