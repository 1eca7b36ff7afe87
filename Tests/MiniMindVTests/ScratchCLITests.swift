import XCTest
import MiniMindV

/// `minimind-v scratch` and `scratch-data` through the built binary: each bad option ends the command
/// with exit status 1 and a message naming the flag, before any training.
final class ScratchCLITests: XCTestCase {
    func expectFailure(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLISupport.run(args)
        XCTAssertEqual(r.status, 1, "\(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(r.stderr.contains(m), "\(args.joined(separator: " ")) should mention \(m): \(r.stderr)", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
    }

    func testScratchOptionsOutOfRange() throws {
        let dir = try CLISupport.folder(self)
        let train = dir.appendingPathComponent("train.jsonl").path
        let out = dir.appendingPathComponent("out").path
        let base = ["scratch", "--train", train, "--out", out]
        try expectFailure(base + ["--size", "huge"], mentions: ["--size", "huge", "tiny, small, base"])
        try expectFailure(base + ["--steps", "1,2"], mentions: ["--steps", "1,2"])
        try expectFailure(base + ["--steps", "10,10,10,0"], mentions: ["ScratchSettings.sft.steps = 0", "set by value 4 of --steps"])
        // The library names its field; the CLI adds the flag that sets it (FlagAdvice, FieldFlags).
        try expectFailure(base + ["--lm-heads", "3"], mentions: ["ScratchSettings.lmHeads = 3", "set by --lm-heads"])
        try expectFailure(base + ["--time-budget", "0"], mentions: ["--time-budget", "0"])
        try expectFailure(base + ["--time-budget", "5", "--steps", "1,1,1,1"], mentions: ["--time-budget", "--steps"])
        try expectFailure(base + ["--image-size", "30", "--patch-size", "8"], mentions: ["ScratchSettings.patchSize = 8", "set by --patch-size"])
        try expectFailure(base + ["--threads", "0"], mentions: ["ScratchSettings.threads = 0", "set by --threads"])
        try expectFailure(base, mentions: [train, "no such file"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        try expectFailure(["scratch-data", "--out", out, "--train", "0"], mentions: ["--train", "0"])
        try expectFailure(["scratch-data", "--out", out, "--image-size", "100000"], mentions: ["--image-size", "100000"])
    }
}
