import Foundation

/// Where the image features go: the runs of the placeholder id in each sequence (Docs/Model.md, "Projector and image splicing").
public struct ImageRun: Equatable, Sendable {
    public var sample: Int
    public var start: Int
    public var length: Int
}

public enum ImageSplice {
    /// Runs of `tokenId` in each of `batch` sequences of `ids` (row-major [B, T]), in order.
    public static func runs(in ids: [Int], batch: Int, tokenId: Int) -> [[ImageRun]] {
        let t = ids.count / max(batch, 1)
        return (0..<batch).map { b in
            var runs: [ImageRun] = []
            var i = 0
            while i < t {
                if ids[b * t + i] == tokenId {
                    let start = i
                    while i < t && ids[b * t + i] == tokenId { i += 1 }
                    runs.append(ImageRun(sample: b, start: start, length: i - start))
                } else {
                    i += 1
                }
            }
            return runs
        }
    }

    /// Overwrites each sample's placeholder runs with its images' features, in order (upstream's
    /// `count_vision_proj`): run k of sample b receives the first `run.length` rows of image
    /// `imagesPerSample[b][k]` of `features` [N, tokens, hidden]. Images beyond the runs are ignored;
    /// runs beyond the images stay text. Differentiable in `embeddings` and `features`.
    public static func apply(embeddings: Tensor, ids: [Int], batch: Int, tokenId: Int,
                             features: Tensor, imagesPerSample: [[Int]]) -> Tensor {
        let (b, t, h) = (embeddings.shape[0], embeddings.shape[1], embeddings.shape[2])
        precondition(b == batch && ids.count == b * t, "ImageSplice: ids (\(ids.count)) do not match embeddings \(embeddings.shape)")
        precondition(features.rank == 3 && features.shape[2] == h,
                     "ImageSplice: features \(features.shape) do not end in the hidden size \(h)")
        let tokens = features.shape[1]
        var targetRows: [Int] = [], sourceRows: [Int] = []
        for (sample, runs) in runs(in: ids, batch: batch, tokenId: tokenId).enumerated() {
            let images = sample < imagesPerSample.count ? imagesPerSample[sample] : []
            for (run, image) in zip(runs, images) {
                for i in 0..<min(run.length, tokens) {
                    targetRows.append(sample * t + run.start + i)
                    sourceRows.append(image * tokens + i)
                }
            }
        }
        if targetRows.isEmpty { return embeddings }
        var keep = [Float](repeating: 1, count: b * t)
        for r in targetRows { keep[r] = 0 }
        let flat = embeddings.reshaped([b * t, h]) * Tensor(shape: [b * t, 1], data: keep)
        let source = indexSelect(features.reshaped([features.shape[0] * tokens, h]), indices: sourceRows)
        return scatterAdd(into: flat, rows: targetRows, source: source).reshaped([b, t, h])
    }
}
