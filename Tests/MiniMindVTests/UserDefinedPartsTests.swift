import XCTest
import MiniMindV  // the public API only: what a Swift program that brings its own parts sees

/// A user-defined vision encoder, written with Tensor ops alone: a 16×16 image cut into four 8×8
/// patches (reshape + permute), each flattened and mapped by one Linear, then tanh: 4 × 8 features.
final class PatchLinearEncoder: Module, VisionEncoder {
    let patch: Linear
    let preprocessing = ImagePreprocessing(resize: .exact(width: 16, height: 16), resample: .bilinear, crop: nil,
                                           rescaleFactor: 1.0 / 255.0, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    var outputTokens: Int { 4 }
    var outputDim: Int { 8 }

    init(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        patch = Linear(3 * 8 * 8, 8, generator: &g)
        super.init()
        register(child: "patch", patch)
    }

    func encode(_ pixels: Tensor) -> Tensor {
        let n = pixels.shape[0]
        let patches = pixels.reshaped([n, 3, 2, 8, 2, 8]).permuted([0, 2, 4, 1, 3, 5]).reshaped([n, 4, 3 * 8 * 8])
        return patch(patches).tanh()
    }
}

/// A user-defined projector: Linear → tanh → Linear.
final class TanhProjector: Module, Projector {
    let fc1: Linear, fc2: Linear

    init(visionDim: Int, hidden: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        fc1 = Linear(visionDim, hidden, generator: &g)
        fc2 = Linear(hidden, hidden, generator: &g)
        super.init()
        register(child: "fc1", fc1)
        register(child: "fc2", fc2)
    }

    func callAsFunction(_ features: Tensor) -> Tensor { fc2(fc1(features).tanh()) }
}

/// The seams hold: a VLM built from a user-defined vision encoder and projector trains the
/// projector through `VLMTrainer` with the pretrain recipe (projector only), features going through
/// the user's encoder via the trainer's feature extractor, and generates through `Generator`.
final class UserDefinedPartsTests: XCTestCase {
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    static let colours: [(String, [UInt8])] = [("red", [230, 20, 20]), ("blue", [20, 20, 230])]

    /// A solid 20×20 image of one colour.
    static func solid(_ rgb: [UInt8]) throws -> RGBImage {
        try RGBImage(width: 20, height: 20, pixels: Array((0..<400).map { _ in rgb }.joined()))
    }

    func testUserEncoderAndProjectorTrainAndGenerate() throws {
        let tokenizer = try BPETrainer(vocabSize: 300, specialTokens: Self.specials, minFrequency: 1)
            .train(Array(repeating: ["what colour is it", "it is red", "it is blue", "user assistant system"], count: 3)
                .flatMap { $0 }).makeTokenizer()
        let imageId = try XCTUnwrap(tokenizer.tokenToId("@"))
        let language = LanguageModelConfig(vocabSize: tokenizer.vocabSize, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                           numKeyValueHeads: 2, headDim: 8, intermediateSize: 64, rmsNormEps: 1e-5,
                                           maxPositionEmbeddings: 128, qkNorm: false)
        // The configuration records the encoder's output size (4 tokens of 8) as a vision section.
        let visionSection = VisionConfig(kind: .siglip, hiddenSize: 8, intermediateSize: 8, numHiddenLayers: 1, numAttentionHeads: 1,
                                         imageSize: 16, patchSize: 8, layerNormEps: 1e-6, activation: .gelu)
        let config = VLMConfig(language: language, vision: visionSection, projector: .mlp, imagePlaceholder: "@", imageTokenId: imageId)
        let encoder = PatchLinearEncoder(seed: 1)
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: language, seed: 2),
                                    projector: TanhProjector(visionDim: 8, hidden: 32, seed: 3), vision: encoder)

        // Synthetic samples: a red or a blue image, and the answer names its colour.
        let template = ChatTemplate(kind: .minimind2)
        var samples: [TrainingSample] = []
        for (colour, rgb) in Self.colours {
            let prompt = try template.render([ChatMessage(role: "user", content: "@@@@\nwhat colour is it")],
                                             options: ChatTemplateOptions(addGenerationPrompt: true))
            let answer = tokenizer.encode("it is \(colour)<|im_end|>")
            let promptIds = tokenizer.encode(prompt)
            XCTAssertEqual(promptIds.filter { $0 == imageId }.count, 4, "one run of four image tokens")
            let ids = promptIds + answer
            let labels = Array(repeating: TrainingSample.ignoreLabel, count: promptIds.count) + answer
            let image = PromptImage.encoded(try Self.solid(rgb).pngData())
            samples += Array(repeating: TrainingSample(ids: ids, labels: labels, images: [image], name: colour), count: 2)
        }

        var recipe = TrainingRecipe.pretrain(for: config)
        XCTAssertEqual(recipe.trainable, ["vision_proj"], "the pretrain recipe trains the projector only")
        recipe.batchSize = 4
        recipe.epochs = 40
        recipe.learningRate = 1e-2
        recipe.augmentation = nil
        let snapshot = { model.stateDict() + encoder.stateDict().map { ("vision." + $0.0, $0.1) } }
        let before = Dictionary(uniqueKeysWithValues: snapshot().map { ($0.0, $0.1.toArray()) })
        let features = VisionFeatureExtractor(encoder: model.vision, cache: nil)
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples), features: features)
        let initial = try trainer.evaluate(samples)
        _ = try trainer.run()
        let final = try trainer.evaluate(samples)
        print("user-defined parts: loss \(initial) → \(final)")
        XCTAssertGreaterThan(features.computed, 0, "the trainer's features came from the user's encoder")
        // The frozen random LM predicts most answer tokens from the text; the image can move the loss only
        // through its four tokens, so the fall is small (0.96 nats here) but nothing falls without projector gradients.
        XCTAssertLessThan(final, initial - 0.5, "the projector learns: loss \(initial) → \(final)")

        // Only the projector's tensors changed; the language model and the encoder are frozen.
        let changed = snapshot().filter { $0.1.toArray() != before[$0.0] }.map(\.0)
        XCTAssertEqual(Set(changed), ["vision_proj.fc1.weight", "vision_proj.fc1.bias", "vision_proj.fc2.weight", "vision_proj.fc2.bias"])

        // Generation runs the image through the user's encoder and projector: the greedy answer to
        // each image starts with the full forward's argmax, and the two images give different logits.
        model.eval()
        let generator = Generator(model: model, tokenizer: tokenizer, template: template)
        var lastLogits: [[Float]] = []
        for (colour, rgb) in Self.colours {
            let image = try Self.solid(rgb)
            let prompt = try generator.chatPrompt("<image>\nwhat colour is it", images: [.image(image)])
            let result = try generator.generate(prompt, options: SamplingOptions(greedy: true, maxNewTokens: 3, eosTokenIds: []))
            XCTAssertEqual(result.ids.count, 3)
            let pixels = try model.preprocess([image])
            let projected = noGrad { model.project(model.visionFeatures(pixels)) }
            let logits = noGrad { model.logits(ids: prompt.ids, images: projected, imagesPerSample: [[0]]) }
            let last = Array(logits.toArray().suffix(language.vocabSize))
            lastLogits.append(last)
            XCTAssertEqual(result.ids.first, last.indices.max { last[$0] < last[$1] }, "\(colour): greedy = argmax of the forward")
            print("user-defined parts, \(colour) image: \"\(tokenizer.decode(result.ids))\"")
        }
        XCTAssertGreaterThan(zip(lastLogits[0], lastLogits[1]).map { abs($0 - $1) }.max() ?? 0, 1e-3, "the image reaches the logits")

        // A model folder needs an encoder with a folder format (VLMBundle.save calls this):
        // refused with a typed error, not a crash.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("user-parts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertThrowsError(try model.vision.save(folder: folder)) { error in
            guard case ModelError.unsupported = error else { return XCTFail("\(error)") }
        }
    }
}
