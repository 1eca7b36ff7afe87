import XCTest
import TestSupport
@testable import MiniMindV

/// LoRA as a layer swap: the layer's arithmetic against a Double reference, every forward path
/// (training, prefill, decode, packed decode, batched rows) seeing the adapter, merging, and a
/// LoRA training run that moves the adapters alone. PEFT's own numbers: PEFTAdapterTests.
final class LoRATests: XCTestCase {
    /// x·(W + scale·B·A)ᵀ + b in Double, from the tensors' values.
    func reference(x: Tensor, w: Tensor, b: Tensor?, a: Tensor, bMat: Tensor, scale: Double) -> (weight: [Double], y: [Double]) {
        let (out, inF, r) = (w.shape[0], w.shape[1], a.shape[0])
        let (wv, av, bv, xv) = (w.toArray(), a.toArray(), bMat.toArray(), x.toArray())
        var merged = [Double](repeating: 0, count: out * inF)
        for o in 0..<out {
            for i in 0..<inF {
                var s = 0.0
                for k in 0..<r { s += Double(bv[o * r + k]) * Double(av[k * inF + i]) }
                merged[o * inF + i] = Double(wv[o * inF + i]) + scale * s
            }
        }
        let rows = x.count / inF
        var y = [Double](repeating: 0, count: rows * out)
        for row in 0..<rows {
            for o in 0..<out {
                var s = b.map { Double($0.toArray()[o]) } ?? 0
                for i in 0..<inF { s += Double(xv[row * inF + i]) * merged[o * inF + i] }
                y[row * out + o] = s
            }
        }
        return (merged, y)
    }

    func testMergedLayerEqualsDensePlusScaledBA() throws {
        var g = SeededGenerator(seed: 3)
        for rsLoRA in [false, true] {
            let base = Linear(6, 5, bias: true, generator: &g)
            let a = Tensor.randn([3, 6], generator: &g), b = Tensor.randn([5, 3], generator: &g)
            let lora = LoRALinear(adapting: base, a: a, b: b, alpha: 5, dropout: 0.5, rsLoRA: rsLoRA)
            lora.eval()
            let scale = rsLoRA ? 5 / 3.0.squareRoot() : 5 / 3.0
            XCTAssertEqual(Double(lora.scale), scale, accuracy: 1e-6)
            let x = Tensor.randn([2, 4, 6], generator: &g)
            let want = reference(x: x, w: base.weight, b: base.bias, a: a, bMat: b, scale: scale)

            let merged = lora.merged()
            XCTAssertClose(merged.weight.toArray(), want.weight.map(Float.init), tolerance: 1e-6, relativeToOne, "merged weight (rsLoRA \(rsLoRA))")
            XCTAssertTrue(merged.bias === base.bias)
            XCTAssertClose(lora.deltaWeight().toArray(), zip(want.weight, base.weight.toArray()).map { Float($0 - Double($1)) },
                           tolerance: 1e-6, relativeToOne, "scale·B·A")
            // The unmerged layer, the merged one and the in-place (decode) product all give x·W'ᵀ + b.
            XCTAssertClose(noGrad { lora(x) }.toArray(), want.y.map(Float.init), tolerance: 1e-5, relativeToOne, "adapted forward")
            XCTAssertClose(noGrad { merged(x) }.toArray(), want.y.map(Float.init), tolerance: 1e-5, relativeToOne, "merged forward")
            let y0 = Tensor.randn([2, 4, 5], generator: &g)
            let y = y0.copy()
            noGrad { lora.accumulate(x, into: y) }
            XCTAssertClose(y.toArray(), zip(want.y, y0.toArray()).map { Float($0 + Double($1)) }, tolerance: 1e-5, relativeToOne, "accumulate")
        }
    }

    /// PEFT's initialisation: A uniform in ±1/√in (kaiming_uniform with a = √5), B zero, so a fresh
    /// adapter changes nothing; dropout acts in training only.
    func testFreshAdapterIsInitialisedAsPEFTAndDropoutOnlyTrains() throws {
        var g = SeededGenerator(seed: 1)
        let base = Linear(64, 8, bias: false, generator: &g)
        let lora = LoRALinear(adapting: base, rank: 16, alpha: 32, dropout: 0.5, generator: &g, dropoutSeed: 7)
        let a = lora.loraA.weight.toArray()
        XCTAssertEqual(lora.loraA.weight.shape, [16, 64])
        XCTAssertEqual(lora.loraB.weight.shape, [8, 16])
        XCTAssertTrue(a.allSatisfy { abs($0) <= 1 / 8 })
        XCTAssertGreaterThan(a.map(abs).max() ?? 0, 0.12, "spans the bound")
        XCTAssertEqual(lora.loraB.weight.toArray(), [Float](repeating: 0, count: 8 * 16))
        let x = Tensor.randn([3, 64], generator: &g)
        XCTAssertEqual(noGrad { lora(x) }.toArray(), noGrad { base(x) }.toArray())

        lora.loraB.weight.mutablePointer.update(repeating: 0.1, count: 8 * 16)
        lora.eval()
        let evalOut = noGrad { lora(x) }.toArray()
        XCTAssertEqual(noGrad { lora(x) }.toArray(), evalOut, "eval mode is deterministic")
        lora.train()
        let trainOut = noGrad { lora(x) }.toArray()
        XCTAssertGreaterThan(worstDifference(trainOut, evalOut), 1e-3, "dropout acts in training mode")
    }

    /// A tiny VLM (the training fixture's) with adapters whose B is non-zero.
    func adaptedModel(targets: [String] = LoRAConfig.languageTargets) throws -> MiniMindVLM {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        model.eval()
        try model.attachLoRA(LoRAConfig(rank: 2, alpha: 4, dropout: 0.2, targets: targets), seed: 5)
        var g = SeededGenerator(seed: 9)
        for (_, layer) in model.loraLayers {
            let b = Tensor.randn(layer.loraB.weight.shape, std: 0.5, generator: &g)
            layer.loraB.weight.mutablePointer.update(from: b.pointer, count: b.count)
        }
        return model
    }

    func testAttachSelectsTargetsAsPEFTAndLeavesFreshOutputsUnchanged() throws {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        model.eval()
        let ids = [5, 9, 17, 3, 22, 8]
        let before = noGrad { model.logits(ids: ids) }.toArray()
        let keysBefore = model.stateDict().map(\.0)
        let paths = try model.attachLoRA(LoRAConfig(rank: 2, alpha: 4, targets: ["q_proj", "layers.1.mlp.down_proj", "vision_proj"]), seed: 1)
        // The fixture's decoder has 3 blocks.
        XCTAssertEqual(paths, ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.mlp.down_proj",
                               "model.layers.2.self_attn.q_proj", "vision_proj.vision_proj.0"])
        XCTAssertEqual(noGrad { model.logits(ids: ids) }.toArray(), before, "B = 0: outputs unchanged")
        // The model's keys are the base keys plus the adapters', PEFT's names.
        let added = model.stateDict().map(\.0).filter { !keysBefore.contains($0) }
        XCTAssertEqual(added, paths.flatMap { [$0 + ".lora_A.weight", $0 + ".lora_B.weight"] })
        XCTAssertThrowsError(try model.attachLoRA(LoRAConfig(rank: 2, targets: ["q_proj"]), seed: 1)) {
            XCTAssertEqual($0 as? LoRAError, .alreadyAdapted(count: 5))
        }
        XCTAssertThrowsError(try model.loraTargetPaths(["qproj"])) {
            guard case LoRAError.targetMatchesNothing("qproj", _)? = $0 as? LoRAError else { return XCTFail("\($0)") }
        }
    }

    /// An MoE decoder has no dense feed-forward: the default targets adapt its attention alone; a
    /// name that is no block layer and matches nothing (a typo) is refused.
    func testMoEModelAdaptsAttentionWithDefaultTargets() throws {
        let lmConfig = LanguageModelConfig.minimind2(hidden: 32, layers: 2, moe: true)
        let config = VLMPreset.minimind2V(lmConfig)
        let model = try MiniMindVLM(config: config, language: try MiniMindLM(config: lmConfig, seed: 1),
                                    projector: MiniMindVLM.makeProjector(config, seed: 0), vision: MissingVisionEncoder(config: config.vision))
        XCTAssertThrowsError(try model.loraTargetPaths(["gate_proj", "up_proj"])) {
            guard case LoRAError.targetMatchesNothing? = $0 as? LoRAError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try model.loraTargetPaths(["q_proj", "qproj"]))
        let paths = try model.attachLoRA(LoRAConfig(rank: 2), seed: 1)
        XCTAssertEqual(paths.count, 8)
        XCTAssertTrue(paths.allSatisfy { $0.contains(".self_attn.") }, "\(paths)")
    }

    func testTiedHeadIsRefused() throws {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        XCTAssertThrowsError(try model.attachLoRA(LoRAConfig(rank: 2, targets: ["lm_head"]), seed: 1)) {
            XCTAssertEqual($0 as? LoRAError, .tiedHead)
        }
        XCTAssertTrue(model.loraLayers.isEmpty, "nothing attached on error")
    }

    /// Full-sequence (training) logits, KV-cache prefill + decode, batched decode rows and the
    /// packed bf16 decode layers all include the adapters.
    func testEveryForwardPathUsesTheAdapter() throws {
        let model = try adaptedModel()
        let lm = try XCTUnwrap(model.language as? MiniMindLM)
        let ids = [5, 9, 17, 3, 22, 8, 11]
        let full = noGrad { model.logits(ids: ids) }
        let merged = try adaptedModel()
        let adapted = 7 * lm.config.numHiddenLayers
        XCTAssertEqual(try merged.mergeLoRA().count, adapted)
        XCTAssertTrue(merged.loraLayers.isEmpty)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(noGrad { merged.logits(ids: ids) }, full), 1e-4, "merged = adapted")
        let plain = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"]?["lm_config"]))
        plain.eval()
        let adapterEffect = ModelFixtures.maxAbsDiff(noGrad { plain.logits(ids: ids) }, full)
        XCTAssertGreaterThan(adapterEffect, 1e-2, "the adapter matters")

        func cached() -> Tensor {
            let cache = lm.makeCache(batch: 1, maxLength: 16)
            var rows = [noGrad { lm.logits(embeddings: lm.embed(Array(ids[..<4]), batch: 1), cache: cache) }]
            for id in ids[4...] { rows.append(noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: cache) }) }
            return Tensor.concat(rows, axis: 1)
        }
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(cached(), full), 1e-4, "prefill + decode")

        // Two sequences decoded together, one row each: the last position of each equals the full pass.
        let caches = [lm.makeCache(batch: 1, maxLength: 16), lm.makeCache(batch: 1, maxLength: 16)]
        for cache in caches { _ = noGrad { lm.logits(embeddings: lm.embed(Array(ids.dropLast()), batch: 1), cache: cache) } }
        let step = noGrad { lm.logits(embeddings: lm.embed([ids[ids.count - 1], ids[ids.count - 1]], batch: 2), caches: caches) }
        let last = full.slice(axis: 1, (ids.count - 1)..<ids.count).toArray()
        XCTAssertClose(step.slice(axis: 0, 1..<2).toArray(), last, tolerance: 1e-4, relativeToOne, "batched decode row")

        lm.setDecodeDType(.bf16)
        XCTAssertEqual(model.loraLayers.count, adapted, "packing keeps the adapters")
        XCTAssertTrue(model.loraLayers.allSatisfy { $0.1.base is PackedLinear })
        // bf16 rounding of the base weights only: far closer to the adapted logits than the model without adapters.
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(cached(), full), 0.1 * adapterEffect, "packed bf16 decode with adapters")
        lm.setDecodeDType(.f32)
        XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(cached(), full), 1e-4, "back to f32")
    }

    /// A LoRA recipe trains the adapters alone: only they reach the optimizer, only they change,
    /// every other tensor stays bit-identical; the output folder gets the PEFT files, no release weights.
    func testLoRATrainingChangesOnlyAdapters() throws {
        let c = try XCTUnwrap(try TrainingFixtures.cases()["vlm2_sft"])
        let sampleImages = try XCTUnwrap(c["sample_images"] as? [[[Int]]])
        var samples: [TrainingSample] = []
        for m in 0..<2 { samples += try TrainingFixtures.samples(case: "vlm2_sft", micro: m, sampleImages: sampleImages[m]) }
        let model = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        var recipe = TrainingRecipe.sft(for: model.config)
        recipe.learningRate = 1e-2
        recipe.batchSize = 4
        recipe.steps = 4  // two epochs of 2 micro-batches
        recipe.lora = LoRAConfig(rank: 4, alpha: 8, dropout: 0.1)
        let before = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.0, $0.1.toArray()) })
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lora-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples), outputDirectory: out)
        let adapted = 7 * model.config.language.numHiddenLayers
        XCTAssertEqual(model.loraLayers.count, adapted)
        XCTAssertEqual(trainer.optimizer.parameterNames, model.loraParameters.map(\.0))
        XCTAssertEqual(model.parameterCount(trainableOnly: true), model.loraParameters.reduce(0) { $0 + $1.1.count })
        let initial = Dictionary(uniqueKeysWithValues: model.loraParameters.map { ($0.0, $0.1.toArray()) })
        let summary = try trainer.run()
        XCTAssertEqual(summary.steps, 4)

        var changedAdapters = 0
        for (key, tensor) in model.stateDict() {
            if let start = initial[key] {
                if start != tensor.toArray() { changedAdapters += 1 }
            } else {
                XCTAssertEqual(tensor.toArray(), before[key], "\(key) changed")  // bit-identical
            }
        }
        XCTAssertEqual(changedAdapters, 2 * adapted, "every A and B moved")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        XCTAssertTrue(files.isSuperset(of: [PEFTAdapter.configFileName, PEFTAdapter.weightsFileName, trainer.resumeFileName]))
        XCTAssertFalse(files.contains { $0.hasSuffix(".pth") }, "no release weights for a LoRA run: \(files)")

        // The saved adapter on a fresh copy of the base reproduces the trained model.
        let reloaded = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        let config = try PEFTAdapter.load(folder: out, into: reloaded)
        XCTAssertEqual(config, LoRAConfig(rank: 4, alpha: 8, dropout: 0.1))
        model.eval(); reloaded.eval()
        let ids = [5, 9, 17, 3, 22]
        XCTAssertEqual(noGrad { reloaded.logits(ids: ids) }.toArray(), noGrad { model.logits(ids: ids) }.toArray())

        // The resume file carries the adapters: a new trainer continues from it.
        let again = try TrainingFixtures.model(kind: "vlm2", lmConfig: try XCTUnwrap(c["lm_config"]))
        let resumed = try VLMTrainer(model: again, recipe: recipe, samples: PreparedSamples(samples))
        try resumed.resume(from: out.appendingPathComponent(trainer.resumeFileName))
        again.eval()
        XCTAssertEqual(noGrad { again.logits(ids: ids) }.toArray(), noGrad { model.logits(ids: ids) }.toArray())
    }

    func testConfigNumbersAreRangeChecked() throws {
        func field(_ config: LoRAConfig) -> String? {
            do { try config.validate(); return nil } catch let e as InputRangeError { return e.field } catch { return "\(error)" }
        }
        XCTAssertNil(field(LoRAConfig()))
        XCTAssertEqual(field(LoRAConfig(rank: 0)), "LoRAConfig.rank")
        XCTAssertEqual(field(LoRAConfig(rank: LoRALimits.maxRank + 1)), "LoRAConfig.rank")
        XCTAssertEqual(field(LoRAConfig(alpha: 0)), "LoRAConfig.alpha")
        XCTAssertEqual(field(LoRAConfig(alpha: .nan)), "LoRAConfig.alpha")
        XCTAssertEqual(field(LoRAConfig(alpha: .infinity)), "LoRAConfig.alpha")
        XCTAssertEqual(field(LoRAConfig(dropout: 1)), "LoRAConfig.dropout")
        XCTAssertEqual(field(LoRAConfig(dropout: -0.1)), "LoRAConfig.dropout")
        XCTAssertEqual(field(LoRAConfig(dropout: .nan)), "LoRAConfig.dropout")
        XCTAssertEqual(field(LoRAConfig(targets: [])), "LoRAConfig.targets")
        XCTAssertEqual(field(LoRAConfig(targets: ["q_proj", ""])), "LoRAConfig.targets")
        XCTAssertEqual(field(LoRAConfig(targets: ["a..b"])), "LoRAConfig.targets")
        XCTAssertEqual(field(LoRAConfig(targets: ["q*"])), "LoRAConfig.targets")
        var recipe = TrainingRecipe.sft(for: VLMPreset.minimind2SmallV.config)
        recipe.lora = LoRAConfig(rank: -1)
        XCTAssertThrowsError(try recipe.validate()) { XCTAssertEqual(($0 as? InputRangeError)?.field, "LoRAConfig.rank") }
    }
}
