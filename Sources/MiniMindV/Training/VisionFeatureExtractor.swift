import Foundation

/// Vision features for training images through the frozen encoder, each image computed once:
/// kept in a `VisionFeatureCache` on disk when one is given (reused across epochs, runs and
/// stages), else in memory for this run. Precomputed `.features` images pass through.
public final class VisionFeatureExtractor {
    public let encoder: any VisionEncoder
    public let cache: VisionFeatureCache?
    private var memory: [String: Tensor] = [:]
    public private(set) var computed = 0
    public private(set) var reused = 0
    /// Augmented views encoded (never cached).
    public private(set) var augmented = 0

    public init(encoder: any VisionEncoder, cache: VisionFeatureCache?) {
        self.encoder = encoder
        self.cache = cache
    }

    /// The content key of an image (nil for precomputed features and pixels).
    func key(_ image: PromptImage, row: String) throws -> String? {
        switch image {
        case .features, .pixels: return nil
        case .image(let picture):
            return FeatureCacheKey.hex(Data(picture.pixels) + Data("\(picture.width)x\(picture.height)".utf8))
        case .encoded(let data): return FeatureCacheKey.hex(data)
        case .file(let url):
            guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else {
                throw TrainingDataError.malformedRow(row: row, reason: "missing image \(url.path)")
            }
            return FeatureCacheKey.hex(data)
        }
    }

    private func cached(_ key: String) -> Tensor? {
        if let t = memory[key] { return t }
        return cache?.load(key)
    }

    private func decode(_ image: PromptImage, row: String) throws -> RGBImage {
        do {
            switch image {
            case .image(let picture): return picture
            case .encoded(let data): return try RGBImage(data: data)
            case .file(let url): return try RGBImage(contentsOf: url)
            case .pixels, .features: preconditionFailure("pixels and features are not decoded")
            }
        } catch {
            throw TrainingDataError.malformedRow(row: row, reason: "corrupt or unreadable image: \(error)")
        }
    }

    /// Decoded and preprocessed to [3, H, W]; a preprocessing failure is the row's, like a decode failure.
    private func preprocessed(_ image: PromptImage, row: String) throws -> Tensor {
        let decoded = try decode(image, row: row)
        do {
            let pixels = try encoder.preprocess([decoded])
            return pixels.reshaped(Array(pixels.shape.dropFirst()))
        } catch {
            throw TrainingDataError.malformedRow(row: row, reason: "image cannot be preprocessed: \(error)")
        }
    }

    private func remember(_ key: String, _ features: Tensor) throws {
        if let cache { try cache.store(key, features: features) } else { memory[key] = features }
    }

    /// Features [images.count, tokens, dim] for one sample's images, computing those not seen yet.
    /// With `augmentation` (training), each picture is augmented from the seed (image k of the
    /// sample draws from seed + k) and encoded afresh: augmented views bypass the cache.
    /// Precomputed features and pixels are used as they are.
    public func features(for images: [PromptImage], row: String,
                         augmentation: (ImageAugmentation, seed: UInt64)? = nil) throws -> [Tensor] {
        var out: [Tensor] = []
        for (k, image) in images.enumerated() {
            if case .features(let t) = image { out.append(t); continue }
            if case .pixels(let p) = image { out.append(encode(p.reshaped([1] + p.shape))); continue }
            if let augmentation {
                var g = SeededGenerator(seed: augmentation.seed &+ UInt64(k))
                let view: RGBImage
                do { view = try augmentation.0.apply(try decode(image, row: row), generator: &g) } catch let e as TrainingDataError { throw e } catch {
                    throw TrainingDataError.malformedRow(row: row, reason: "image augmentation failed: \(error)")
                }
                out.append(try encodeOne(.image(view), row: row))
                augmented += 1
                continue
            }
            guard let key = try key(image, row: row) else { continue }
            if let t = cached(key) { reused += 1; out.append(t); continue }
            let t = try encodeOne(image, row: row)
            try remember(key, t)
            computed += 1
            out.append(t)
        }
        return out
    }

    private func encodeOne(_ image: PromptImage, row: String) throws -> Tensor {
        encode(try encoder.preprocess([try decode(image, row: row)]))
    }

    /// Features [tokens, dim] of one image's pixels [1, 3, H, W].
    private func encode(_ px: Tensor) -> Tensor {
        let f = noGrad { encoder.encode(px) }
        return f.reshaped([f.shape[1], f.shape[2]])
    }

    /// The pre-pass: computes the features of every image of every usable row in batches of
    /// `batchSize`, dropping rows whose images are missing or corrupt (or throwing when strict).
    public func prepare(_ source: ConversationSampleSource, batchSize: Int = 8, strict: Bool,
                        warn: (String) -> Void = { _ in }, progress: (Int, Int) -> Void = { _, _ in }) throws {
        // Pending images are kept preprocessed ([3, H, W] at the encoder's size), not decoded at
        // full resolution, so a batch costs batchSize small tensors whatever the files' sizes.
        var pending: [(key: String, pixels: Tensor)] = []
        var pendingKeys = Set<String>()
        func flush() throws {
            guard let first = pending.first else { return }
            let each = first.pixels.count
            let px = Tensor.uninitialized([pending.count] + first.pixels.shape)
            for (i, p) in pending.enumerated() {
                guard p.pixels.shape == first.pixels.shape else {
                    throw ImageError.batchShapeMismatch(index: i, expected: first.pixels.shape, found: p.pixels.shape)
                }
                memcpy(px.mutablePointer + i * each, p.pixels.pointer, each * 4)
            }
            let f = noGrad { encoder.encode(px) }
            let tokens = f.shape[1], dim = f.shape[2]
            for (i, p) in pending.enumerated() {
                let t = Tensor.uninitialized([tokens, dim])
                memcpy(t.mutablePointer, f.pointer + i * tokens * dim, tokens * dim * 4)
                try remember(p.key, t)
                computed += 1
            }
            pending.removeAll()
            pendingKeys.removeAll()
        }
        let indices = source.usable
        for (n, index) in indices.enumerated() {
            let row: ConversationRow
            do { row = try source.dataset.row(index) } catch { continue }
            do {
                for image in row.images {
                    guard let key = try key(image, row: row.name) else { continue }
                    if pendingKeys.contains(key) || memory[key] != nil || (cache?.contains(key) ?? false) { reused += 1; continue }
                    pending.append((key, try preprocessed(image, row: row.name)))
                    pendingKeys.insert(key)
                }
            } catch let TrainingDataError.malformedRow(name, reason) {
                if strict { throw TrainingDataError.strictStop(row: name, reason: reason) }
                warn("warning: skipping \(name): \(reason)")
                source.drop(datasetIndex: index, row: name, reason: reason)
            }
            if pending.count >= batchSize { try flush() }
            progress(n + 1, indices.count)
        }
        try flush()
    }
}
