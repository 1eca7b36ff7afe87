import XCTest
import TestSupport
@testable import MiniMindV

/// Two images in one sample and in one chat turn: both reach the model, each in its own placeholder
/// run, in prompt order.
final class TwoImageTests: XCTestCase {
    /// The trainer's loss on a two-image sample equals the cross-entropy of PyTorch's logits for the
    /// same two-image sequence (Scripts/gen_model_fixtures.py: transformers CLIP + Llama, splice of
    /// image 0 into the first run and image 1 into the second).
    func testTwoImageTrainingSampleLossMatchesPyTorchLogits() throws {
        let visionConfig = try JSONDecoder().decode(VisionConfig.self, from: Data(contentsOf: ModelFixtures.url("clip_config.json")))
        let config = VLMConfig(language: try ModelFixtures.llamaConfig(), vision: visionConfig, projector: .linear,
                               imagePlaceholder: "@", imageTokenId: 34)
        let vlm = try MiniMindVLM(config: config)
        if let vision = vlm.vision as? ViTVisionEncoder { try vision.loadWeights(try ModelFixtures.weights("clip.safetensors")) }
        var state = try ModelFixtures.weights("llama.safetensors")
        for (k, v) in try ModelFixtures.weights("vlm2_projector.safetensors").entries { state[k] = v }
        try vlm.loadReleaseWeights(state)
        vlm.eval()

        let ids = try ModelFixtures.ints("vlm2_ids.npy")
        let features = vlm.visionFeatures(try ModelFixtures.tensor("vlm2_pixels.npy"))
        XCTAssertEqual(features.shape[0], 2, "the fixture has two images")
        // Three runs of '@': two filled by the images, the last stays text (upstream's rule, also in the reference).
        XCTAssertEqual(ImageSplice.runs(in: ids, batch: 1, tokenId: 34)[0].count, 3)
        let image = { (i: Int) -> PromptImage in
            .features(features.slice(axis: 0, i..<(i + 1)).reshaped([features.shape[1], features.shape[2]]).copy())
        }
        // Every next token counts (labels = ids), so the loss covers positions after both images.
        let sample = TrainingSample(ids: ids, labels: ids, images: [image(0), image(1)], name: "two images")
        let trainer = try VLMTrainer(model: vlm, recipe: TrainingRecipe.sft(for: vlm.config), samples: PreparedSamples([sample]))
        let loss = Double(try noGrad { try trainer.loss(TrainingBatch([sample])) }.item)

        let logits = try ModelFixtures.tensor("vlm2_logits.npy").toArray().map(Double.init)
        let vocab = logits.count / ids.count
        var total = 0.0
        for t in 0..<(ids.count - 1) {
            let row = logits[(t * vocab)..<((t + 1) * vocab)]
            let m = row.max()!
            let logSum = m + log(row.reduce(0) { $0 + exp($1 - m) })
            total += logSum - row[row.startIndex + ids[t + 1]]
        }
        let reference = total / Double(ids.count - 1)
        XCTAssertEqual(loss, reference, accuracy: 1e-4 * max(1, reference), "two-image sample loss vs PyTorch logits")

        let swapped = TrainingSample(ids: ids, labels: ids, images: [image(1), image(0)], name: "swapped")
        let other = Double(try noGrad { try trainer.loss(TrainingBatch([swapped])) }.item)
        XCTAssertGreaterThan(abs(other - loss), 1e-4, "the second image lands in the second run: swapping them changes the loss")
    }

    /// One chat turn with two `<image>` markers and two pictures: both are encoded, and the answer is
    /// the one a direct generation over the same prompt with both images in order gives.
    func testTwoImageChatTurn() throws {
        let gen = try GenerationTestSupport.tinyGenerator()
        let options = SamplingOptions(greedy: true, maxNewTokens: 6, eosTokenIds: [])
        let a = try GenerationTestSupport.picture(seed: 1), b = try GenerationTestSupport.picture(seed: 4)
        let session = ChatSession(generator: gen, options: options, contextLength: 256)
        let question = "<image> left, <image> right: what differs?"
        let answer = try session.ask(question, images: [.image(a), .image(b)])
        XCTAssertEqual(session.lastStats.images, 2, "both images were encoded")
        let prompt = try gen.assembler.assemble(Array(session.messages().dropLast()), images: [.image(a), .image(b)])
        XCTAssertEqual(prompt.imageSlots.count, 2)
        XCTAssertEqual(ImageSplice.runs(in: prompt.ids, batch: 1, tokenId: gen.model.config.imageTokenId)[0].count, 2)
        let direct = try gen.generate(prompt, options: options)
        XCTAssertEqual(answer.ids, direct.ids)

        // Both images matter and in order: the prompt's logits change when they are swapped.
        let encode = { (images: [RGBImage]) -> Tensor in
            let px = try gen.model.vision.preprocessing(images)
            return noGrad { gen.model.logits(ids: prompt.ids, images: gen.model.project(gen.model.visionFeatures(px)), imagesPerSample: [[0, 1]]) }
        }
        let forward = try encode([a, b]), backward = try encode([b, a])
        XCTAssertGreaterThan(worstDifference(forward.toArray(), backward.toArray()), 1e-5)
    }
}
