import XCTest
import TestSupport
@testable import MiniMindV

/// `LoRAConfig.modulesToSave` (PEFT's `modules_to_save`, `sft --lora-modules-to-save`): the named
/// modules train in full beside the adapters, are saved whole in the adapter file under PEFT's
/// key layout (`base_model.model.<parameter key>`), and loading the adapter puts them back.
final class LoRAModulesToSaveTests: XCTestCase {
    func testProjectorTrainsInFullBesideTheAdapters() throws {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<2 { samples += try TrainingFixtures.samples(case: "vlm2_sft", micro: m, sampleImages: sampleImages[m]) }
        let fresh = { try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"])) }
        let model = try fresh()
        var recipe = TrainingRecipe.sft(for: model.config)
        recipe.learningRate = 1e-2
        recipe.batchSize = 4
        recipe.steps = 4
        recipe.lora = LoRAConfig(rank: 4, alpha: 8, dropout: 0, modulesToSave: ["vision_proj"])
        let before = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.0, $0.1.toArray()) })
        let projectorKeys = model.namedParameters().map(\.0).filter { $0.hasPrefix("vision_proj.") }
        XCTAssertFalse(projectorKeys.isEmpty)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lora-mts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples), outputDirectory: out)
        XCTAssertEqual(trainer.optimizer.parameterNames, model.loraParameters.map(\.0) + projectorKeys)
        let initial = Dictionary(uniqueKeysWithValues: model.loraParameters.map { ($0.0, $0.1.toArray()) })
        _ = try trainer.run()

        for (key, tensor) in model.stateDict() {
            if let start = initial[key] ?? (projectorKeys.contains(key) ? before[key] : nil) {
                XCTAssertNotEqual(tensor.toArray(), start, "\(key) trained")
            } else {
                XCTAssertEqual(tensor.toArray(), before[key], "\(key) changed")  // bit-identical
            }
        }
        let json = try JSONValue.load(out.appendingPathComponent(PEFTAdapter.configFileName))
        XCTAssertEqual(json["modules_to_save"]?.arrayValue?.compactMap(\.stringValue), ["vision_proj"])
        let keys = Set(try Safetensors.read(out.appendingPathComponent(PEFTAdapter.weightsFileName)).keys)
        XCTAssertTrue(keys.isSuperset(of: projectorKeys.map { "base_model.model." + $0 }), "\(keys.sorted().prefix(4))")
        XCTAssertEqual(keys.count, 2 * model.loraLayers.count + projectorKeys.count)

        // On a fresh base the adapter file reproduces the trained model; merged, too.
        let reloaded = try fresh()
        XCTAssertEqual(try PEFTAdapter.load(folder: out, into: reloaded), recipe.lora)
        model.eval(); reloaded.eval()
        let ids = [5, 9, 17, 3, 22]
        let want = noGrad { model.logits(ids: ids) }.toArray()
        XCTAssertEqual(noGrad { reloaded.logits(ids: ids) }.toArray(), want)
        for key in projectorKeys {
            XCTAssertEqual(reloaded.stateDict().first { $0.0 == key }?.1.toArray(), model.stateDict().first { $0.0 == key }?.1.toArray(), key)
        }
        try reloaded.mergeLoRA()
        let merged = noGrad { reloaded.logits(ids: ids) }.toArray()
        XCTAssertLessThanOrEqual(zip(merged, want).map { abs($0 - $1) }.max() ?? .infinity, 1e-4)
    }

    func testModulesToSaveAreChecked() throws {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        XCTAssertThrowsError(try model.prepareLoRATraining(LoRAConfig(rank: 2, modulesToSave: ["no_such_module"]), seed: 1)) {
            XCTAssertTrue("\($0)".contains("no_such_module") && "\($0)".contains("matches no parameter"), "\($0)")
        }
        let overlapping = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        XCTAssertThrowsError(try overlapping.prepareLoRATraining(LoRAConfig(rank: 2, targets: ["q_proj"], modulesToSave: ["self_attn"]), seed: 1)) {
            XCTAssertTrue("\($0)".contains("an adapted layer"), "\($0)")
        }
        XCTAssertTrue(overlapping.loraLayers.isEmpty, "nothing attached on error")
        XCTAssertThrowsError(try LoRAConfig(rank: 2, modulesToSave: ["vision proj"]).validate()) {
            XCTAssertEqual(($0 as? InputRangeError)?.field, "LoRAConfig.modulesToSave")
        }
    }
}
