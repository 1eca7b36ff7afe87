import XCTest
import TestSupport
@testable import MiniMindV

/// LoRA adapters written by Hugging Face PEFT on a transformers LlamaForCausalLM
/// (Scripts/gen_peft_fixture.py): loaded by our code on the same base they give PEFT's logits (also
/// with a whole module saved beside them, PEFT's modules_to_save), and
/// merged they give PEFT's `merge_and_unload` weights. Our writer's files read back, and (with
/// MINIMIND_PEFT_EXPORT_DIR set) a trained adapter is left for the script's `--validate`, which
/// loads it in PEFT.
final class PEFTAdapterTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/peft")
    let tolerance: Float = 1e-4

    /// The fixture's transformers base model inside a text-only VLM (what the CLI loads).
    func base() throws -> MiniMindVLM {
        let lm = try TransformersLMExport.load(Self.folder.appendingPathComponent("base"))
        let config = VLMPreset.minimind2V(lm.config)
        let model = try MiniMindVLM(config: config, language: lm, projector: MiniMindVLM.makeProjector(config, seed: 0),
                                    vision: MissingVisionEncoder(config: config.vision))
        model.eval()
        return model
    }

    func ids() throws -> [Int] { try NPYFile.read(Self.folder.appendingPathComponent("ids.npy")).int64Values().map { Int($0) } }

    func expected(_ name: String) throws -> Tensor { try NPYFile.read(Self.folder.appendingPathComponent("\(name)_logits.npy")).toTensor() }

    func testPEFTAdaptersGivePEFTLogits() throws {
        // `saved` also carries PEFT's modules_to_save: the final norm, whole, written into the model.
        for (name, rank, layers, rsLoRA) in [("all", 4, 14, false), ("rslora", 2, 6, true), ("saved", 2, 4, false)] {
            let model = try base()
            let tokens = try ids()
            let plain = noGrad { model.logits(ids: tokens) }
            let config = try PEFTAdapter.load(folder: Self.folder.appendingPathComponent(name), into: model)
            XCTAssertEqual(config.rank, rank)
            XCTAssertEqual(config.rsLoRA, rsLoRA)
            XCTAssertEqual(config.modulesToSave, name == "saved" ? ["model.norm"] : nil)
            XCTAssertEqual(model.loraLayers.count, layers, name)
            let want = try expected(name)
            let got = noGrad { model.logits(ids: tokens) }
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(got, want), tolerance, "\(name) logits")
            XCTAssertGreaterThan(ModelFixtures.maxAbsDiff(plain, want), 1e-2, "\(name): the adapter matters")

            // Generation's cached path with the adapter: prefill then one token at a time.
            let lm = try XCTUnwrap(model.language as? MiniMindLM)
            let cache = lm.makeCache(batch: 1, maxLength: 32)
            var rows = [noGrad { lm.logits(embeddings: lm.embed(Array(tokens[..<5]), batch: 1), cache: cache) }]
            for id in tokens[5...] { rows.append(noGrad { lm.logits(embeddings: lm.embed([id], batch: 1), cache: cache) }) }
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(Tensor.concat(rows, axis: 1), want), tolerance, "\(name) cached logits")
        }
    }

    /// Merging gives PEFT's merged weights (W + scale·B·A) and the adapter's logits.
    func testMergeEqualsPEFTMergeAndUnload() throws {
        let tokens = try ids()
        for name in ["all", "rslora"] {
            let model = try base()
            try PEFTAdapter.load(folder: Self.folder.appendingPathComponent(name), into: model)
            try model.mergeLoRA()
            XCTAssertTrue(model.loraLayers.isEmpty)
            let state = Dictionary(uniqueKeysWithValues: model.stateDict())
            let reference = try Safetensors.read(Self.folder.appendingPathComponent("\(name)_merged.safetensors"))
            XCTAssertEqual(reference.count, 2)
            for (key, data) in reference.entries {
                let ours = try XCTUnwrap(state[key], key)
                XCTAssertClose(ours.toArray(), try data.toTensor().toArray(), tolerance: 1e-6, relativeToOne, "\(name) \(key)")
            }
            XCTAssertLessThanOrEqual(ModelFixtures.maxAbsDiff(noGrad { model.logits(ids: tokens) }, try expected(name)), tolerance)
        }
    }

    /// Our files read back to the same adapter; a few LoRA training steps on the base leave an
    /// adapter (and our logits) that the script's `--validate` loads in PEFT.
    func testWrittenAdapterReadsBackAndIsLeftForPEFT() throws {
        let out = ProcessInfo.processInfo.environment["MINIMIND_PEFT_EXPORT_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("peft-\(UUID().uuidString)")
        defer { if ProcessInfo.processInfo.environment["MINIMIND_PEFT_EXPORT_DIR"] == nil { try? FileManager.default.removeItem(at: out) } }
        let model = try base()
        let tokens = try ids()
        var recipe = TrainingRecipe.sft(for: model.config)
        recipe.learningRate = 5e-2
        recipe.batchSize = 2
        recipe.steps = 4
        recipe.lora = LoRAConfig(rank: 4, alpha: 8, dropout: 0.1, baseModel: "Tests/Fixtures/peft/base")
        let samples = (0..<4).map { i -> TrainingSample in
            var rng = SplitMix64(state: UInt64(i))
            return TrainingSample.languageModeling(ids: tokens.shuffled(using: &rng))
        }
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples),
                                     objective: LanguageModelObjective(), outputDirectory: out.appendingPathComponent("adapter"))
        _ = try trainer.run()
        model.eval()
        let logits = noGrad { model.logits(ids: tokens) }
        try NPYFile.write(logits.reshaped([tokens.count, model.config.language.vocabSize]), to: out.appendingPathComponent("logits.npy"))
        try NPYFile.write(try TensorData(int64s: tokens.map(Int64.init), shape: [tokens.count]), to: out.appendingPathComponent("ids.npy"))

        let json = try JSONValue.load(out.appendingPathComponent("adapter/adapter_config.json"))
        XCTAssertEqual(json["peft_type"]?.stringValue, "LORA")
        XCTAssertEqual(json["task_type"]?.stringValue, "CAUSAL_LM")
        XCTAssertEqual(json["bias"]?.stringValue, "none")
        XCTAssertEqual(json["r"]?.intValue, 4)
        XCTAssertEqual(Set(json["target_modules"]?.arrayValue?.compactMap(\.stringValue) ?? []), Set(LoRAConfig.languageTargets))
        let keys = try Safetensors.read(out.appendingPathComponent("adapter/adapter_model.safetensors")).keys
        XCTAssertTrue(keys.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"), "\(keys.prefix(3))")
        XCTAssertEqual(keys.count, 28)

        let reloaded = try base()
        XCTAssertEqual(try PEFTAdapter.load(folder: out.appendingPathComponent("adapter"), into: reloaded), recipe.lora)
        XCTAssertEqual(noGrad { reloaded.logits(ids: tokens) }.toArray(), logits.toArray())
        let untouched = try base()
        XCTAssertGreaterThan(ModelFixtures.maxAbsDiff(noGrad { untouched.logits(ids: tokens) }, logits), 1e-3, "training moved the adapter")
    }

    /// Hostile or unsupported adapter folders are refused with the field or key named, and nothing is attached.
    func testBadAdapterFilesAreRefused() throws {
        let source = Self.folder.appendingPathComponent("rslora")
        let config = try JSONValue.load(source.appendingPathComponent(PEFTAdapter.configFileName))
        let weights = try Safetensors.read(source.appendingPathComponent(PEFTAdapter.weightsFileName))
        func check(_ what: String, config edit: (inout [String: JSONValue]) -> Void = { _ in },
                   weights change: (StateDict) throws -> StateDict = { $0 }, mentions: String) throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bad-peft-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var object = config.objectValue ?? [:]
            edit(&object)
            try JSONValue.object(object).serialized().write(to: dir.appendingPathComponent(PEFTAdapter.configFileName))
            try Safetensors.write(try change(weights), to: dir.appendingPathComponent(PEFTAdapter.weightsFileName))
            let model = try base()
            XCTAssertThrowsError(try PEFTAdapter.load(folder: dir, into: model), what) { error in
                XCTAssertTrue("\(error)".contains(mentions), "\(what): \(error)")
            }
            XCTAssertTrue(model.loraLayers.isEmpty, "\(what): nothing attached")
        }
        try check("DoRA", config: { $0["use_dora"] = .bool(true) }, mentions: "use_dora")
        try check("prompt tuning", config: { $0["peft_type"] = .string("PROMPT_TUNING") }, mentions: "peft_type")
        try check("r 0", config: { $0["r"] = .int(0) }, mentions: "r = 0")
        try check("huge r", config: { $0["r"] = .int(1 << 40) }, mentions: "adapter_config.json r")
        try check("alpha NaN", config: { $0["lora_alpha"] = .string("NaN") }, mentions: "lora_alpha")
        try check("negative alpha", config: { $0["lora_alpha"] = .double(-1) }, mentions: "lora_alpha")
        try check("dropout 1", config: { $0["lora_dropout"] = .double(1) }, mentions: "lora_dropout")
        try check("bias all", config: { $0["bias"] = .string("all") }, mentions: "bias")
        try check("rank pattern", config: { $0["rank_pattern"] = .object(["q_proj": .int(8)]) }, mentions: "rank_pattern")
        try check("r disagrees with shapes", config: { $0["r"] = .int(3) }, mentions: "expected")
        try check("unknown layer", weights: { w in
            var out = w
            out["base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight"] = w.entries[0].tensor
            return out
        }, mentions: "layers.9")
        try check("missing B", weights: { w in StateDict(w.entries.filter { !$0.name.hasSuffix("q_proj.lora_B.weight") }.map { ($0.name, $0.tensor) }) },
                  mentions: "lora_B missing")
        try check("not a LoRA key", weights: { w in
            var out = w
            out["base_model.model.model.embed_tokens.weight"] = w.entries[0].tensor
            return out
        }, mentions: "not a LoRA factor")
    }
}
