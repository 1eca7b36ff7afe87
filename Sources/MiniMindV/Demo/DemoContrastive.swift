// Stage 4: CLIP-style pretraining of the tiny vision tower. Image embedding = mean of the tower's
// patch features through a linear head; text embedding = mean of the caption's token embeddings
// through a linear head; both L2-normalised; symmetric InfoNCE over the batch with a fixed
// temperature. Half of each batch are shape-swapped twins of the other half (hard negatives), so
// the tower must see shapes, not only colours and places. Only the tower is kept, then frozen.
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

enum DemoContrastive {
    static let logitScale: Float = 10

    /// Trains `encoder` in place on (image, caption) pairs; returns the loss curve and the final
    /// in-batch retrieval accuracy (image → its own caption) on the last few batches.
    static func pretrain(encoder: ViTVisionEncoder, pixels: Tensor, captions: [[Int]], twinPixels: Tensor, twinCaptions: [[Int]],
                         vocabSize: Int,
                         steps: Int, batchSize: Int, lr: Double, seed: UInt64, progress: DemoProgress?) -> (DemoCurve, Double) {
        encoder.unfreeze()
        encoder.train()
        let heads = DemoContrastiveHeads(vocabSize: vocabSize, textDim: 64, visionDim: encoder.outputDim, embedDim: 64,
                                         seed: seed &+ 11)
        var g = SeededGenerator(seed: seed &+ 12)
        let n = captions.count
        var hits = 0, seen = 0
        let parameters = encoder.namedParameters(trainableOnly: true).map { ("vision." + $0.0, $0.1) }
            + heads.namedParameters(trainableOnly: true)
        let curve = DemoTrainLoop.run("vision (CLIP)", parameters: parameters, steps: steps, baseLR: lr,
                                      progress: progress) { step in
            var chosen = Set<Int>()
            while chosen.count < min(batchSize / 2, n) { chosen.insert(Int(g.next() % UInt64(n))) }
            let batch = chosen.sorted()
            let px = Tensor.concat([indexSelect(pixels, axis: 0, indices: batch), indexSelect(twinPixels, axis: 0, indices: batch)], axis: 0)
            let image = normalise(heads.imageHead(encoder.encode(px).mean(axis: 1)))
            let text = normalise(heads.textHead(meanEmbedding(batch.map { captions[$0] } + batch.map { twinCaptions[$0] },
                                                              table: heads.tokenEmbedding)))
            let logits = matmul(image, text, transposeB: true) * logitScale
            let targets = Array(0..<(2 * batch.count))
            if step >= steps - 10 {
                let best = logits.argmax(axis: -1)
                hits += zip(best, targets).filter { $0 == $1 }.count
                seen += targets.count
            }
            return (crossEntropy(logits: logits, targets: targets) + crossEntropy(logits: logits.transposed(), targets: targets)) * 0.5
        }
        encoder.freeze()
        encoder.eval()
        return (curve, seen > 0 ? Double(hits) / Double(seen) : 0)
    }

    static func normalise(_ x: Tensor) -> Tensor {
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
