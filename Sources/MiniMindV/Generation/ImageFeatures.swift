import Foundation

extension Generator {
    /// Projected image embeddings [N, tokens, hidden] of images in any `PromptImage` form, in order
    /// (no gradient). Pictures are decoded and preprocessed together (timed as "preprocess"); their
    /// pixels and given pixels go through the vision encoder as one batch and everything through
    /// the projector (timed as "image encode"); precomputed features are only projected, so they
    /// work on a model loaded without its vision encoder.
    public func projectedFeatures(_ images: [PromptImage], stats: inout GenerationStats) throws -> Tensor {
        let tokens = config.imageTokens, dim = config.vision.hiddenSize, size = config.vision.imageSize
        var start = monotonicSeconds()
        var pictures: [RGBImage] = [], pictureSlots: [Int] = []
        var pixels: [Tensor] = [], pixelSlots: [Int] = []
        var rows: [Int: Tensor] = [:]
        for (i, image) in images.enumerated() {
            switch image {
            case .features(let f):
                guard f.shape == [tokens, dim] else {
                    throw GenerationError.imageShape(index: i, form: "features", expected: [tokens, dim], found: f.shape)
                }
                rows[i] = f.reshaped([1, tokens, dim])
            case .pixels(let p):
                guard p.shape == [3, size, size] else {
                    throw GenerationError.imageShape(index: i, form: "pixels", expected: [3, size, size], found: p.shape)
                }
                pixels.append(p.reshaped([1, 3, size, size]))
                pixelSlots.append(i)
            case .image, .encoded, .file:
                guard let picture = try image.decoded() else { continue }
                pictures.append(picture)
                pictureSlots.append(i)
            }
        }
        var batches: [Tensor] = []
        if !pictures.isEmpty { batches.append(try model.preprocess(pictures)) }
        stats.preprocessSeconds += monotonicSeconds() - start

        start = monotonicSeconds()
        defer { stats.imageEncodeSeconds += monotonicSeconds() - start }
        if !pixels.isEmpty {
            guard model.vision.takesImages else { throw ModelError.noVisionEncoder }
            batches += pixels
        }
        if !batches.isEmpty {
            let encoded = model.visionFeatures(batches.count == 1 ? batches[0] : Tensor.concat(batches, axis: 0))
            for (j, i) in (pictureSlots + pixelSlots).enumerated() { rows[i] = encoded.slice(axis: 0, j..<(j + 1)) }
        }
        stats.images += images.count
        let features = Tensor.concat(images.indices.compactMap { rows[$0] }, axis: 0)
        return noGrad { model.project(features) }
    }
}
