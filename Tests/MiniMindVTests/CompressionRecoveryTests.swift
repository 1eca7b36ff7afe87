import XCTest
@testable import MiniMindV

/// `compress prune|lowrank --recover-steps N`: the folder written is the compressed model after a
/// short fine-tune through `VLMTrainer` (`CompressionRecovery`), through the built binary.
final class CompressionRecoveryTests: XCTestCase {
    struct Fixture {
        var model: URL
        var data: URL
        var images: URL
        var dir: URL
    }

    /// A tiny model folder and twelve one-answer conversations about two pictures.
    func fixture() throws -> Fixture {
        let dir = try CLISupport.folder(self)
        let model = try CLISupport.tinyModel(in: dir)
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for (name, seed) in [("a.png", 1), ("b.png", 5)] {
            try Data(try GenerationTestSupport.picture(seed: seed).pngData()).write(to: images.appendingPathComponent(name))
        }
        let rows = (0..<12).map { k in
            let (image, answer) = k % 2 == 0 ? ("a.png", "a red square") : ("b.png", "a blue circle")
            return #"{"conversations":[{"role":"user","content":"<image>\nwhat is here"},{"role":"assistant","content":"\#(answer)"}],"image":"\#(image)"}"#
        }
        let data = dir.appendingPathComponent("data.jsonl")
        try rows.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
        return Fixture(model: model, data: data, images: images, dir: dir)
    }

    /// Mean answer loss of the folder's model on the fixture's conversations (no gradients, eval mode).
    func loss(_ folder: URL, _ f: Fixture) throws -> Double {
        let bundle = try VLMBundle.load(folder: folder)
        let probe = try VLMTrainer.forConversations(model: bundle.model, tokenizer: bundle.tokenizer, template: bundle.template,
                                                    recipe: try CompressionRecovery(steps: 1).recipe(for: bundle.model.config),
                                                    data: try openConversationDataset(f.data, imageFolder: f.images),
                                                    featureCache: nil, outputDirectory: nil)
        return try probe.evaluate(try (0..<probe.samples.count).map { try probe.samples.sample($0, epoch: 0) })
    }

    func testPruneAndLowRankRecoverThroughTheTrainer() throws {
        let f = try fixture()
        let recover = ["--recover-steps", "8", "--recover-data", f.data.path, "--recover-images", f.images.path,
                       "--recover-lr", "0.01", "--recover-batch-size", "4"]
        let commands: [(String, [String])] = [("prune", ["--ffn-keep", "0.5", "--heads-keep", "0.5"]), ("lowrank", ["--rank", "4"])]
        for (command, flags) in commands {
            let plain = f.dir.appendingPathComponent(command + "-plain"), recovered = f.dir.appendingPathComponent(command + "-recovered")
            let a = try CLISupport.run(["compress", command, f.model.path, plain.path] + flags)
            XCTAssertEqual(a.status, 0, a.stderr)
            let b = try CLISupport.run(["compress", command, f.model.path, recovered.path] + flags + recover)
            XCTAssertEqual(b.status, 0, b.stderr)
            XCTAssertTrue(b.stderr.contains("recovery: 8 steps on 12 rows") && b.stderr.contains("recovery: loss"), b.stderr)

            // Same structure (pruned sizes, factor ranks), same frozen vision tower, a different language model.
            let configs = try [plain, recovered].map { try ModelSource.readConfig($0.appendingPathComponent("config.json")) }
            XCTAssertEqual(configs[0], configs[1], command)
            if command == "lowrank" { XCTAssertEqual(configs[1].lowRank?["model.layers.0.mlp.up_proj"], 4) }
            else { XCTAssertEqual(configs[1].language.intermediateSize, 32) }
            let vision = try [plain, recovered].map { try Data(contentsOf: $0.appendingPathComponent("vision/model.safetensors")) }
            XCTAssertEqual(vision[0], vision[1], "\(command): the vision tower is not trained")
            let weights = try [plain, recovered].map { try Data(contentsOf: $0.appendingPathComponent("model.safetensors")) }
            XCTAssertNotEqual(weights[0], weights[1], command)
            // Eight steps at lr 0.01 on these twelve rows must lower their loss clearly.
            let (before, after) = (try loss(plain, f), try loss(recovered, f))
            XCTAssertLessThan(after, 0.8 * before, "\(command): loss \(before) → \(after)")
        }
    }

    func testRecoveryFlagsAreChecked() throws {
        let f = try fixture()
        let base = ["compress", "prune", f.model.path, f.dir.appendingPathComponent("out").path, "--ffn-keep", "0.5"]
        // The library names CompressionRecovery's field; the CLI adds the flag (FlagAdvice, FieldFlags).
        for (extra, field, flag) in [(["--recover-steps", "0", "--recover-data", f.data.path], "steps", "--recover-steps"),
                                     (["--recover-steps", "2", "--recover-data", f.data.path, "--recover-lr", "2"], "learningRate", "--recover-lr"),
                                     (["--recover-steps", "2", "--recover-data", f.data.path, "--recover-batch-size", "0"], "batchSize", "--recover-batch-size"),
                                     (["--recover-steps", "2", "--recover-data", f.data.path, "--recover-max-seq-len", "1"], "maxSeqLen", "--recover-max-seq-len")] {
            let r = try CLISupport.run(base + extra)
            XCTAssertEqual(r.status, 1, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("CompressionRecovery.\(field) = ") && r.stderr.contains("out of range")
                          && r.stderr.contains("set by \(flag)"), "\(extra): \(r.stderr)")
        }
        // Positions are the model's: 512 here.
        let long = try CLISupport.run(base + ["--recover-steps", "2", "--recover-data", f.data.path, "--recover-images", f.images.path,
                                              "--recover-max-seq-len", "600"])
        XCTAssertEqual(long.status, 1, long.stderr)
        XCTAssertTrue(long.stderr.contains("set by --recover-max-seq-len") && long.stderr.contains("512 positions"), long.stderr)
        let noData = try CLISupport.run(base + ["--recover-steps", "2"])
        XCTAssertNotEqual(noData.status, 0)
        XCTAssertTrue(noData.stderr.contains("--recover-steps needs --recover-data"), noData.stderr)
        let noSteps = try CLISupport.run(base + ["--recover-data", f.data.path])
        XCTAssertNotEqual(noSteps.status, 0)
        XCTAssertTrue(noSteps.stderr.contains("need --recover-steps"), noSteps.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.dir.appendingPathComponent("out").path), "nothing written")
    }

    /// `--dtype` is one parser for convert, compress lowrank and merge-lora: other values are refused with the flag named.
    func testDTypeIsOneParser() throws {
        let f = try fixture()
        let out = f.dir.appendingPathComponent("x").path
        for args in [["convert", f.model.path, out, "--dtype", "f64"], ["compress", "lowrank", f.model.path, out, "--rank", "2", "--dtype", "f64"],
                     ["merge-lora", f.model.path, f.dir.path, out, "--dtype", "f64"], ["convert", f.model.path, out, "--quantize", "int3"]] {
            let r = try CLISupport.run(args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains("f64") || r.stderr.contains("int3"), r.stderr)
            XCTAssertTrue(r.stderr.contains("'f32', 'f16'") || r.stderr.contains("'int8'"), "the allowed values are named: \(r.stderr)")
        }
        let half = f.dir.appendingPathComponent("half")
        let ok = try CLISupport.run(["compress", "lowrank", f.model.path, half.path, "--rank", "2", "--dtype", "bf16"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let file = try Safetensors.read(half.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(file["model.layers.0.mlp.up_proj.up.weight"]?.dtype, .bf16)
    }
}
