import XCTest
import TestSupport
@testable import MiniMindV

/// The LoRA flags through the built binary: `sft --lora-*` numbers refused with the flag named
/// before any work, `--lora DIR` at load, and `merge-lora` writing a folder with the same outputs.
final class CLILoRATests: XCTestCase {
    func testLoRAFlagsOutOfRange() throws {
        // Checked before the vision tower, tokenizer or data are read (those paths do not exist).
        let base = ["sft", "/nonexistent/data.jsonl", "--preset", "minimind2-small-v", "--vision", "/nonexistent/v",
                    "--tokenizer", "/nonexistent/t"]
        let cases: [([String], String)] = [
            (["--lora-rank", "0"], "rank"), (["--lora-rank", "9223372036854775807"], "rank"),
            (["--lora-rank", "8", "--lora-alpha", "0"], "alpha"), (["--lora-rank", "8", "--lora-alpha", "nan"], "alpha"),
            (["--lora-rank", "8", "--lora-dropout", "1"], "dropout"), (["--lora-rank", "8", "--lora-dropout=-0.5"], "dropout"),
            (["--lora-rank", "8", "--lora-targets", "q_proj,,v_proj"], "targets"),
        ]
        // The library names LoRAConfig's field; the CLI adds the flag that sets it (FlagAdvice, FieldFlags).
        for (extra, field) in cases {
            let r = try CLISupport.run(base + extra)
            XCTAssertEqual(r.status, 1, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("LoRAConfig.\(field) = ") && r.stderr.contains("out of range")
                          && r.stderr.contains("set by --lora-\(field)"), "\(extra): \(r.stderr)")
        }
        let alone = try CLISupport.run(base + ["--lora-alpha", "16"])
        XCTAssertNotEqual(alone.status, 0)
        XCTAssertTrue(alone.stderr.contains("need --lora-rank"), alone.stderr)
    }

    /// `forward --lora DIR` gives the adapted logits; `merge-lora` writes a folder giving the same.
    func testLoRAFlagAndMergeLoRA() throws {
        let dir = try CLISupport.folder(self)
        let modelURL = try CLISupport.tinyModel(in: dir)
        let bundle = try VLMBundle.load(folder: modelURL)
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: ["q_proj", "down_proj", "vision_proj"])
        try bundle.model.attachLoRA(lora, seed: 3)
        var g = SeededGenerator(seed: 4)
        for (_, layer) in bundle.model.loraLayers {
            let b = Tensor.randn(layer.loraB.weight.shape, std: 0.5, generator: &g)
            layer.loraB.weight.mutablePointer.update(from: b.pointer, count: b.count)
        }
        let adapter = dir.appendingPathComponent("adapter")
        try PEFTAdapter.write(bundle.model, config: lora, to: adapter)

        func logits(_ args: [String], _ name: String) throws -> [Float] {
            let out = dir.appendingPathComponent(name).path
            let r = try CLISupport.run(["forward", "--prompt", "a red square", "--dump-logits", out] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try NPYFile.read(URL(fileURLWithPath: out)).toTensor().toArray()
        }
        let plain = try logits(["--model", modelURL.path], "plain.npy")
        let adapted = try logits(["--model", modelURL.path, "--lora", adapter.path], "adapted.npy")
        XCTAssertGreaterThan(worstDifference(adapted, plain), 1e-3, "the adapter changes the logits")

        let merged = dir.appendingPathComponent("merged")
        let r = try CLISupport.run(["merge-lora", modelURL.path, adapter.path, merged.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("merged 5 LoRA layers"), r.stdout)  // 2 layers × (q, down) + the projector
        XCTAssertLessThanOrEqual(worstDifference(try logits(["--model", merged.path], "merged.npy"), adapted), 1e-4)
        XCTAssertFalse(FileManager.default.fileExists(atPath: merged.appendingPathComponent(PEFTAdapter.configFileName).path))

        let bad = try CLISupport.run(["forward", "--model", modelURL.path, "--lora", dir.path, "--prompt", "x",
                                      "--dump-logits", dir.appendingPathComponent("x.npy").path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("adapter_config.json"), bad.stderr)
    }
}
