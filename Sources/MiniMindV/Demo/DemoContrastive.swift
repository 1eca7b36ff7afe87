// Stage 4: CLIP-style pretraining of the tiny vision tower, per region. Each image token sees one
// cell of the 3×3 grid, and the language model later asks about cells, so the contrast is made
// per cell (as in region-level CLIP): a cell's feature through a linear head is scored against the
// text embeddings of every cell phrase ("northwest circle red", …, "centre nothing": the
// caption's own pieces; text embedding = mean of the
// phrase's token embeddings through a linear head), both L2-normalised with a fixed temperature,
// and trained with cross-entropy towards the cell's own phrase. An image-level contrast of mean-
// pooled features was tried first: it let colours and places identify a scene and left shapes
// poorly separated per cell. Only the tower is kept, then frozen.
import Foundation

final class DemoContrastiveHeads: Module {
    let tokenEmbedding: Embedding
    let textHead: Linear
    let imageHead: Linear

    init(vocabSize: Int, textDim: Int, visionDim: Int, embedDim: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        tokenEmbedding = Embedding(weight: .randn([vocabSize, textDim], std: 0.5, generator: &g))
        textHead = Linear(textDim, embedDim, generator: &g)
        imageHead = Linear(visionDim, embedDim, generator: &g)
        super.init()
        register(child: "token_embedding", tokenEmbedding)
        register(child: "text_head", textHead)
        register(child: "image_head", imageHead)
    }
}

/// What a grid cell shows, and where: one of the 24 (colour, shape) pairs or nothing, in one of the
/// 9 places. The place is part of the phrase so that each image token says where it is: the
/// language model then finds "the northwest" by content instead of by counting positions.
enum DemoCell {
    static let contents = DemoColour.allCases.count * DemoShape.allCases.count + 1
    static let empty = contents - 1
    static let count = contents * DemoPosition.allCases.count

    static func content(_ object: DemoObject) -> Int {
        (DemoColour.allCases.firstIndex(of: object.colour) ?? 0) * DemoShape.allCases.count
            + (DemoShape.allCases.firstIndex(of: object.shape) ?? 0)
    }

    /// Per cell of the scene, in reading order (= image token order).
    static func labels(_ scene: DemoScene) -> [Int] {
        var out = DemoPosition.allCases.map { $0.rawValue * contents + empty }
        for o in scene.objects { out[o.position.rawValue] = o.position.rawValue * contents + content(o) }
        return out
    }

    /// The text of each cell class, in index order: "northwest circle red", …, "centre nothing".
    static var phrases: [String] {
        DemoPosition.allCases.flatMap { p in
            DemoColour.allCases.flatMap { c in
                DemoShape.allCases.map { DemoLanguage.piece(p, $0, c) }
            } + ["\(p.phrase) nothing"]
        }
    }
}

final class DemoContrastive {
    static let logitScale: Float = 10
    let heads: DemoContrastiveHeads
    let phrases: [[Int]]

    init(tokenizer: Tokenizer, visionDim: Int, seed: UInt64) {
        heads = DemoContrastiveHeads(vocabSize: tokenizer.vocabSize, textDim: 64, visionDim: visionDim, embedDim: 64,
                                     seed: seed &+ 11)
        phrases = DemoCell.phrases.map { tokenizer.encode($0) }
    }

    /// Trains `encoder` in place on images `pixels` [N, 3, H, W] with per-cell labels `cells` (N × 9),
    /// then freezes it. Returns the loss curve.
    func pretrain(encoder: ViTVisionEncoder, pixels: Tensor, cells: [[Int]], steps: Int, batchSize: Int, lr: Double,
                  seed: UInt64, progress: DemoProgress?) -> DemoCurve {
        encoder.unfreeze()
        encoder.train()
        var g = SeededGenerator(seed: seed &+ 12)
        let n = cells.count
        let parameters = encoder.namedParameters(trainableOnly: true).map { ("vision." + $0.0, $0.1) }
            + heads.namedParameters(trainableOnly: true)
        let curve = DemoTrainLoop.run("vision (CLIP per cell)", parameters: parameters, steps: steps, baseLR: lr,
                                      progress: progress) { _ in
            let batch = DemoPipeline.pick(Array(0..<n), batchSize, &g)
            let features = encoder.encode(indexSelect(pixels, axis: 0, indices: batch))
            return crossEntropy(logits: self.logits(features), targets: batch.flatMap { cells[$0] })
        }
        encoder.freeze()
        encoder.eval()
        return curve
    }

    /// Cell-vs-phrase scores for tower features [N, cells, dim]: [N·cells, phrases].
    func logits(_ features: Tensor) -> Tensor {
        let cells = normalise(heads.imageHead(features.reshaped([-1, features.shape[2]])))
        let text = normalise(heads.textHead(Self.meanEmbedding(phrases, table: heads.tokenEmbedding)))
        return matmul(cells, text, transposeB: true) * Self.logitScale
    }

    /// Zero-shot cell accuracy (nearest phrase = the cell's own) on cached tower features.
    func accuracy(features: Tensor, cells: [[Int]]) -> Double {
        let predicted = noGrad { logits(features).argmax(axis: -1) }
        let truth = cells.flatMap { $0 }
        return Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(max(truth.count, 1))
    }

    func normalise(_ x: Tensor) -> Tensor {
        x / ((x * x).sum(axis: -1, keepDims: true) + 1e-6).sqrt()
    }

    /// Mean of each token list's embeddings: [B, dim] (padding masked out).
    static func meanEmbedding(_ lists: [[Int]], table: Embedding) -> Tensor {
        let b = lists.count, l = max(1, lists.map(\.count).max() ?? 1)
        var ids = [Int](repeating: 0, count: b * l)
        var mask = [Float](repeating: 0, count: b * l)
        for (i, list) in lists.enumerated() {
            let w = 1 / Float(max(list.count, 1))
            for (t, id) in list.enumerated() {
                ids[i * l + t] = id
                mask[i * l + t] = w
            }
        }
        let e = table(ids, shape: [b, l])
        return (e * Tensor(shape: [b, l, 1], data: mask)).sum(axis: 1)
    }
}
