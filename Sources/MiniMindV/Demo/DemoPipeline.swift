// The built-in demo end to end: synthetic data → tokenizer → language model → CLIP-style vision
// tower → pretrain recipe (projector only) → SFT recipe (projector + language model) → greedy
// answers on unseen images, with the image blanked, and before SFT → HTML report + model folder.
import Foundation

public struct DemoResult: Sendable {
    public var settings: DemoSettings
    /// Wall-clock seconds per stage, in order.
    public var timings: [(stage: String, seconds: Double)] = []
    public var answers: [DemoAnswer] = []
    public var blankAnswers: [DemoAnswer] = []
    public var pretrainAnswers: [DemoAnswer] = []
    /// The model's caption of each test image (greedy, `DemoLanguage.captionQuestion`).
    public var captions: [DemoCaption] = []
    public var curves: [DemoCurve] = []
    /// Share of the unseen images' cells whose nearest phrase (CLIP stage, zero-shot) is their own.
    public var cellAccuracy: Double = 0
    public var output: URL
    public var score: DemoScore { DemoScore(answers) }
    public var blankScore: DemoScore { DemoScore(blankAnswers) }
    public var pretrainScore: DemoScore { DemoScore(pretrainAnswers) }
    /// Share of test images captioned exactly as their scene's caption.
    public var captionAccuracy: Double { Double(captions.filter(\.correct).count) / Double(max(captions.count, 1)) }
    public var totalSeconds: Double { timings.reduce(0) { $0 + $1.seconds } }
    public var modelFolder: URL { output.appendingPathComponent("model") }
    public var report: URL { output.appendingPathComponent("report.html") }
}

public enum DemoPipeline {
    public static func run(settings s: DemoSettings, output: URL, progress: DemoProgress? = nil) throws -> DemoResult {
        let previousThreads = Threads.count
        Threads.set(s.threads)
        defer { Threads.set(previousThreads) }
        var result = DemoResult(settings: s, output: output)
        var clock = DemoProgress.now
        func lap(_ stage: String) {
            let t = DemoProgress.now
            result.timings.append((stage, t - clock))
            clock = t
        }

        // 1. Data, written and read back through the JSONL + image-folder layout.
        let files = try DemoDataGenerator.write(to: output.appendingPathComponent("data"), sizes: s.sizes,
                                                imageSize: s.imageSize, seed: s.seed, progress: progress)
        let pretrainSamples = try DemoDataReader.read(files.pretrain, images: files.images)
        let sftSamples = try DemoDataReader.read(files.sft, images: files.images)
        let validationSamples = try DemoDataReader.read(files.validation, images: files.images)
        let testSamples = try DemoDataReader.read(files.test, images: files.images)
        let trainImages = try DemoImages(names: pretrainSamples.map(\.image) + sftSamples.map(\.image), folder: files.images,
                                         preprocessing: s.preprocessing)
        let heldOutImages = try DemoImages(names: validationSamples.map(\.image) + testSamples.map(\.image),
                                           folder: files.images, preprocessing: s.preprocessing)
        lap("data")

        // 2. Tokenizer.
        progress?.start("tokenizer", total: 1, unit: "vocabularies")
        let texts = (pretrainSamples + sftSamples).flatMap { $0.conversations.map { $0.content.replacingOccurrences(of: "<image>\n", with: "") } }
        let tokenizerFolder = output.appendingPathComponent("tokenizer")
        let tokenizer = try DemoTokenizer.train(texts: texts + DemoTokenizer.templateTexts(), vocabSize: s.vocabSize,
                                                folder: tokenizerFolder)
        guard let imageTokenId = tokenizer.tokenToId(DemoTokenizer.imagePlaceholder) else {
            throw DemoError.tokenizer("no id for the image placeholder")
        }
        progress?.finish("\(tokenizer.vocabSize) tokens")
        lap("tokenizer")

        // 3. Language model on the text alone (captions and conversations, images dropped).
        let vision = try ViTVisionEncoder(config: s.visionConfig, preprocessing: s.preprocessing, seed: s.seed &+ 3)
        let config = VLMConfig(language: s.languageConfig(vocabSize: tokenizer.vocabSize), vision: s.visionConfig,
                               projector: .linear, imagePlaceholder: DemoTokenizer.imagePlaceholder, imageTokenId: imageTokenId)
        let builder = try DemoSampleBuilder(tokenizer: tokenizer, imageText: config.expandedImageText)
        let lm = try MiniMindLM(config: config.language, seed: s.seed &+ 1)
        let textSamples = try (pretrainSamples + sftSamples).map { sample -> DemoTokenized in
            var t = try builder.training(sample, image: nil, dropImage: true)
            t.labels = t.ids  // plain language modelling: every token is a target
            return t
        }
        var g = SeededGenerator(seed: s.seed &+ 5)
        result.curves.append(DemoTrainLoop.run("language model", parameters: lm.namedParameters(trainableOnly: true),
                                               steps: s.textSteps, baseLR: s.textLR, progress: progress) { _ in
            let batch = DemoBatch(pick(textSamples, s.textBatch, &g))
            return crossEntropy(logits: lm.logits(embeddings: lm.embed(batch.ids, batch: batch.batch), keyPaddingMask: nil),
                                targets: batch.targets)
        })
        lap("language model")

        // 4. Vision tower, CLIP-style per cell (image token) against its phrase, then frozen.
        func cells(_ images: DemoImages) throws -> [[Int]] {
            try images.names.map { name in
                guard let scene = files.scenes[name] else { throw DemoError.io(path: name, reason: "no scene for this image") }
                return DemoCell.labels(scene)
            }
        }
        let clip = DemoContrastive(tokenizer: tokenizer, visionDim: vision.outputDim, seed: s.seed)
        result.curves.append(clip.pretrain(encoder: vision, pixels: trainImages.pixels, cells: try cells(trainImages),
                                           steps: s.visionSteps, batchSize: s.visionBatch, lr: s.visionLR, seed: s.seed,
                                           progress: progress))
        lap("vision encoder")

        // The VLM; the frozen tower's features are computed once and cached.
        let vlm = try MiniMindVLM(config: config, language: lm,
                                  projector: LinearProjector(visionDim: s.visionHidden, hidden: s.lmHidden, seed: s.seed &+ 7),
                                  vision: vision)
        progress?.start("vision features", total: trainImages.count + heldOutImages.count + 1, unit: "images")
        let trainFeatures = features(vlm, trainImages.pixels)
        let heldOutFeatures = features(vlm, heldOutImages.pixels)
        let blankFeatures = features(vlm, trainImages.pixels.mean(axis: 0, keepDims: true))
        progress?.update(trainImages.count + heldOutImages.count + 1)
        result.cellAccuracy = clip.accuracy(features: heldOutFeatures, cells: try cells(heldOutImages))
        progress?.finish(String(format: "unseen cells matched to their phrase: %.1f%%", 100 * result.cellAccuracy))
        lap("vision features")

        func vlmLoss(_ samples: [DemoTokenized], features: Tensor) -> Tensor {
            let batch = DemoBatch(samples)
            let images = vlm.project(indexSelect(features, axis: 0, indices: batch.images))
            // Head and softmax only where a label counts (about 1 position in 10 here).
            return vlm.loss(ids: batch.ids, targets: batch.targets, batch: batch.batch, images: images,
                            imagesPerSample: (0..<batch.batch).map { [$0] })
        }

        // 5. Pretrain recipe: captions, everything frozen but the projector.
        let captionSamples = try pretrainSamples.map { try builder.training($0, image: trainImages.row[$0.image]) }
        lm.freeze()
        result.curves.append(DemoTrainLoop.run("pretrain (projector)", parameters: vlm.namedParameters(trainableOnly: true),
                                               steps: s.pretrainSteps, baseLR: s.pretrainLR, progress: progress) { _ in
            vlmLoss(pick(captionSamples, s.pretrainBatch, &g), features: trainFeatures)
        })
        lap("pretrain recipe")
        let heldOutRows = testSamples.map { heldOutImages.row[$0.image] ?? 0 }
        result.pretrainAnswers = try DemoEvaluation.answer(vlm: vlm, builder: builder, samples: testSamples, imageIndex: heldOutRows,
                                                           features: heldOutFeatures)

        // 6. SFT recipe: conversations, projector + whole language model.
        let sftTokenized = try sftSamples.map { try builder.training($0, image: trainImages.row[$0.image]) }
        let validationTokenized = try validationSamples.prefix(128).map { try builder.training($0, image: heldOutImages.row[$0.image]) }
        lm.unfreeze()
        result.curves.append(DemoTrainLoop.run("SFT", parameters: vlm.namedParameters(trainableOnly: true), steps: s.sftSteps,
                                               baseLR: s.sftLR, progress: progress,
                                               validate: { _ in noGrad { vlmLoss(validationTokenized, features: heldOutFeatures).item } },
                                               every: max(1, s.sftSteps / 10)) { _ in
            vlmLoss(pick(sftTokenized, s.sftBatch, &g), features: trainFeatures)
        })
        lm.freeze()
        lap("SFT recipe")

        // 7. Evaluation: with the image, with a blank (mean) image.
        progress?.start("evaluation", total: 2 * testSamples.count, unit: "questions")
        result.answers = try DemoEvaluation.answer(vlm: vlm, builder: builder, samples: testSamples, imageIndex: heldOutRows,
                                                   features: heldOutFeatures)
        progress?.update(testSamples.count)
        result.blankAnswers = try DemoEvaluation.answer(vlm: vlm, builder: builder, samples: testSamples, imageIndex: nil,
                                                        features: blankFeatures)
        let testImages = heldOutImages.names.filter { $0.hasPrefix("test-") }
        result.captions = try DemoEvaluation.captions(
            vlm: vlm, builder: builder, names: testImages,
            expected: try testImages.map { name in
                guard let scene = files.scenes[name] else { throw DemoError.io(path: name, reason: "no scene for this image") }
                return DemoLanguage.caption(scene)
            },
            imageIndex: testImages.map { heldOutImages.row[$0] ?? 0 }, features: heldOutFeatures)
        progress?.update(2 * testSamples.count)
        progress?.finish(String(format: "accuracy %.1f%%, blank image %.1f%%, captions exactly right %.1f%%",
                                100 * result.score.overall, 100 * result.blankScore.overall, 100 * result.captionAccuracy))
        lap("evaluation (incl. pretrain-only)")

        // 8. Model folder and report.
        try VLMBundle(model: vlm, tokenizer: tokenizer, generation: DemoLanguage.generationConfig(eos: tokenizer.eosTokenID))
            .save(to: result.modelFolder, tokenizerFiles: tokenizerFolder)
        lap("save")
        try DemoReport.write(result, images: files.images, to: result.report)
        return result
    }

    /// A random batch (with replacement across steps, without within one).
    static func pick<T>(_ items: [T], _ count: Int, _ g: inout SeededGenerator) -> [T] {
        var chosen = Set<Int>()
        let n = min(count, items.count)
        while chosen.count < n { chosen.insert(Int(g.next() % UInt64(items.count))) }
        return chosen.sorted().map { items[$0] }
    }

    static func features(_ vlm: MiniMindVLM, _ pixels: Tensor, chunk: Int = 256) -> Tensor {
        var parts: [Tensor] = []
        var start = 0
        while start < pixels.shape[0] {
            let end = min(pixels.shape[0], start + chunk)
            parts.append(vlm.visionFeatures(pixels.slice(axis: 0, start..<end).copy()))
            start = end
        }
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
    }
}

/// Distinct images of a split, decoded from their PNG files and preprocessed: pixels [N, 3, H, W].
struct DemoImages {
    let names: [String]
    let row: [String: Int]
    let pixels: Tensor
    var count: Int { names.count }

    init(names all: [String], folder: URL, preprocessing: ImagePreprocessing) throws {
        var row: [String: Int] = [:], names: [String] = []
        for n in all where row[n] == nil {
            row[n] = names.count
            names.append(n)
        }
        self.names = names
        self.row = row
        let images = try names.map { try RGBImage(contentsOf: folder.appendingPathComponent($0)) }
        pixels = try preprocessing(images)
    }
}
