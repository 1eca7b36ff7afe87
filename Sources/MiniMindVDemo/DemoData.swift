// The per-cell samples of the demo's vision stage (`DemoCellStage`): one contrastive sample per
// image, and each image's cell classes from its scene.
import Foundation
import MiniMindV

enum DemoData {
    /// One contrastive sample per distinct image of `rows`, named by its file name; no text tokens
    /// (the objective reads the image and its cells only).
    static func contrastiveSamples(_ rows: [ConversationRow], scenes: [String: DemoScene]) throws -> [TrainingSample] {
        var seen = Set<String>(), out: [TrainingSample] = []
        for row in rows {
            guard let name = ScratchData.imageName(row) else { throw DemoError.io(path: row.name, reason: "a demo row without its one image") }
            guard seen.insert(name).inserted else { continue }
            out.append(TrainingSample(ids: [0, 0], labels: [TrainingSample.ignoreLabel, TrainingSample.ignoreLabel],
                                      images: row.images, name: name))
        }
        return out
    }

    /// The class of each cell of an image, from its scene.
    static func cells(of name: String, scenes: [String: DemoScene]) throws -> [Int] {
        guard let scene = scenes[name] else { throw DemoError.io(path: name, reason: "no scene for this image") }
        return DemoCell.labels(scene)
    }
}
