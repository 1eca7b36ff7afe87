import XCTest
@testable import MiniMindV

/// Numbers and paths from the command line, through the built binary: each bad value ends the
/// command with exit status 1 and a message naming the option, the value and the allowed range,
/// before any work (or any file) is done.
final class CLINumbersTests: XCTestCase {
    static let huge = "9223372036854775807"

    func expectFailure(_ args: [String], stdin: String = "", mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLISupport.run(args, stdin: stdin)
        XCTAssertEqual(r.status, 1, "\(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(r.stderr.contains(m), "\(args.joined(separator: " ")) should mention \(m): \(r.stderr)", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
    }

    func testGenerationOptionsOutOfRange() throws {
        let dir = try CLISupport.folder(self)
        let model = try CLISupport.tinyModel(in: dir).path
        let picture = try CLISupport.picture(in: dir)
        try expectFailure(["chat", "--model", model, "--max-new-tokens", Self.huge], stdin: "hi\n", mentions: ["--max-new-tokens", Self.huge])
        try expectFailure(["caption", "--model", model, "--max-new-tokens", Self.huge, picture], mentions: ["--max-new-tokens"])
        try expectFailure(["chat", "--model", model, "--temperature=-1"], stdin: "hi\n", mentions: ["SamplingOptions.temperature = -1.0", "≥ 0.0, finite", "set by --temperature"])
        for context in ["0", "-1", "8192"] {
            try expectFailure(["chat", "--model", model, "--context=\(context)"], stdin: "hi\n", mentions: ["--context", context, "512"])
        }
    }

    func testChatFailsWhenEveryTurnFailed() throws {
        let dir = try CLISupport.folder(self)
        let model = try CLISupport.tinyModel(in: dir).path
        // A context of 8 tokens holds no rendered question: every turn fails.
        let failed = try CLISupport.run(["chat", "--model", model, "--context", "8", "--greedy"], stdin: "a red square\nblue circle\n")
        XCTAssertEqual(failed.status, 1, failed.stderr)
        XCTAssertTrue(failed.stderr.contains("error:"), failed.stderr)
        let ok = try CLISupport.run(["chat", "--model", model, "--greedy", "--max-new-tokens", "2"], stdin: "a red square\n")
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    func testForwardImageMarkersMustMatchImages() throws {
        let dir = try CLISupport.folder(self)
        let model = try CLISupport.tinyModel(in: dir).path
        let picture = try CLISupport.picture(in: dir)
        let logits = dir.appendingPathComponent("logits.npy").path
        try expectFailure(["forward", "--model", model, "--image", picture, "--image", picture, "--prompt", "<image> what", "--dump-logits", logits],
                          mentions: ["1 <image> marker", "2 image(s)"])
        try expectFailure(["forward", "--model", model, "--prompt", "<image> what", "--dump-logits", logits], mentions: ["0 image(s)"])
        let ok = try CLISupport.run(["forward", "--model", model, "--image", picture, "--prompt", "<image> what", "--dump-logits", logits])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: logits))
        // No marker at all: the image goes in front of the question, as every prompt assembles it.
        let ids = dir.appendingPathComponent("ids.npy").path, filled = dir.appendingPathComponent("filled.npy").path
        for (prompt, out) in [("<image>\nwhat", ids), ("what", filled)] {
            let run = try CLISupport.run(["forward", "--model", model, "--image", picture, "--prompt", prompt, "--dump-logits", logits, "--dump-ids", out])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: ids)), try Data(contentsOf: URL(fileURLWithPath: filled)))
    }

    func testForwardDumpPathsAreCheckedFirst() throws {
        let dir = try CLISupport.folder(self)
        let model = try CLISupport.tinyModel(in: dir).path
        let logits = dir.appendingPathComponent("logits.npy")
        try Data("old logits".utf8).write(to: logits)
        try expectFailure(["forward", "--model", model, "--prompt", "hi", "--dump-logits", logits.path,
                           "--dump-ids", dir.appendingPathComponent("missing/ids.npy").path], mentions: ["--dump-ids", "does not exist"])
        XCTAssertEqual(try Data(contentsOf: logits), Data("old logits".utf8), "the logits file is untouched when --dump-ids cannot be written")
        try expectFailure(["forward", "--model", model, "--prompt", "hi", "--dump-logits", logits.path, "--dump-ids", logits.path],
                          mentions: ["same file"])
        XCTAssertEqual(try Data(contentsOf: logits), Data("old logits".utf8))
    }

    func testTrainingOptionsOutOfRange() throws {
        // Checked before the vision tower, tokenizer or data are read (those paths do not exist).
        let base = ["pretrain", "/nonexistent/data.jsonl", "--preset", "minimind2-small-v", "--vision", "/nonexistent/v",
                    "--tokenizer", "/nonexistent/t"]
        let cases: [([String], String)] = [
            (["--threads", "0"], "--threads"), (["--threads", Self.huge], "--threads"), (["--threads", "100000"], "--threads"),
            (["--grad-clip", "nan"], "--grad-clip"), (["--warmup-steps=-5"], "--warmup-steps"),
            (["--length-buckets=-1"], "--length-buckets"), (["--length-buckets", Self.huge], "--length-buckets"),
            (["--max-seq-len", "0"], "--max-seq-len"), (["--max-seq-len", "1"], "--max-seq-len"),
            (["--max-samples=-1"], "--max-samples"), (["--epochs", Self.huge], "--epochs"),
            (["--accumulation-steps", Self.huge], "--accumulation-steps"), (["--lr", "inf"], "--lr"),
            (["--max-seq-len", "100000"], "--max-seq-len"),
        ]
        for (extra, field) in cases {
            try expectFailure(base + extra, mentions: [field, "out of range", "allowed"])
        }
    }

    func testInspectEscapesControlCharactersInNames() throws {
        let dir = try CLISupport.folder(self)
        let file = dir.appendingPathComponent("evil.safetensors")
        var state = StateDict()
        state["model.\u{1B}[2J\u{07}evil\nname"] = try TensorData(tensor: Tensor(shape: [2], data: [1, 2]))
        try Safetensors.write(state, to: file)
        let r = try CLISupport.run(["inspect", file.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, r.stdout)
        XCTAssertTrue(r.stdout.contains("model.\\u{1B}[2J\\u{7}evil\\nname"), r.stdout)
    }

    /// Library errors name no flag; the CLI adds the flag that fixes them (FlagAdvice).
    func testModelErrorsGetFlagAdvice() throws {
        let dir = try CLISupport.folder(self)
        let weights = dir.appendingPathComponent("w.safetensors")
        try Data([0]).write(to: weights)
        try expectFailure(["forward", "--weights", weights.path, "--prompt", "hi", "--dump-logits", dir.appendingPathComponent("l.npy").path],
                          mentions: ["release weights need a tokenizer folder", "--tokenizer DIR"])
        let model = try CLISupport.tinyModel(in: dir)
        try FileManager.default.removeItem(at: model.appendingPathComponent("vision"))
        let picture = try CLISupport.picture(in: dir)
        try expectFailure(["caption", "--model", model.path, "--max-new-tokens", "2", picture],
                          mentions: ["loaded without a vision encoder", "--vision DIR"])
        // Errors that reach the top level (convert's) get their advice there.
        try expectFailure(["convert", model.path, dir.appendingPathComponent("m.pth").path, "--preset", "minimind2-small-v"],
                          mentions: ["a weights file (m.pth) holds tensors only", "drop --preset and --config"])
        try expectFailure(["convert", model.path, dir.appendingPathComponent("m.gguf").path, "--dtype", "f16"],
                          mentions: ["GGUF output has its own weight types", "--type f32|f16|q8_0|q4_0 instead of --dtype"])
    }
}
