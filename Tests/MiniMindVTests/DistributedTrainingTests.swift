import Foundation
import XCTest
@testable import MiniMindV

/// `mpirun -np 2 minimind-v sft` against one process with the same global batch (Docs/Distributed.md):
/// the one-process run is the reference, since data order, schedule and the averaged gradient must
/// make N ranks take exactly its steps. Open MPI and the binary come from `make test`.
final class DistributedTrainingTests: XCTestCase {
    /// A tiny model folder, 16 JSONL rows of different answer lengths (so the ranks hold different
    /// numbers of counted targets) over three pictures.
    struct Setup {
        let dir: URL
        let model: URL
        let data: URL
        let images: URL

        init(_ test: XCTestCase) throws {
            dir = try CLISupport.folder(test)
            model = try CLISupport.tinyModel(in: dir)
            images = dir.appendingPathComponent("images")
            try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
            for seed in 0..<3 {
                try Data(try GenerationTestSupport.picture(seed: seed).pngData()).write(to: images.appendingPathComponent("p\(seed).png"))
            }
            let answers = ["a red square", "a red square on a blue circle", "number 3", "a blue circle is here number 12 and a red square"]
            let lines = (0..<16).map { i -> String in
                let row: [String: Any] = ["conversations": [["role": "user", "content": "<image>\nwhat is here \(i)"],
                                                            ["role": "assistant", "content": answers[i % 4] + " \(i)"]],
                                          "image": "p\(i % 3).png"]
                return String(decoding: try! JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self)
            }
            data = dir.appendingPathComponent("data.jsonl")
            try lines.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
        }

        func arguments(batch: Int, out: String, maxSteps: Int, epochs: Int = 3, extra: [String] = []) -> [String] {
            ["sft", data.path, "--images", images.path, "--from-weights", model.appendingPathComponent("model.safetensors").path,
             "--vision", model.appendingPathComponent("vision").path, "--tokenizer", model.path,
             "--epochs", "\(epochs)", "--batch-size", "\(batch)", "--lr", "2e-3", "--max-seq-len", "96", "--threads", "1",
             "--max-steps", "\(maxSteps)", "--out", dir.appendingPathComponent(out).path] + extra
        }

        func resumeFile(_ out: String) -> URL { dir.appendingPathComponent(out).appendingPathComponent("sft_vlm_32_resume.safetensors") }
    }

    /// mpirun as a child process; root is allowed (CI runs as root), ranks may exceed the cores.
    static func mpirun(ranks: Int, tcpOnly: Bool = false, _ arguments: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var mca = ["--oversubscribe", "--mca", "mpi_yield_when_idle", "1"]
        // TCP only: no shared memory (btl vader) and no UCX, over the loopback interface.
        if tcpOnly { mca += ["--mca", "pml", "ob1", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"] }
        p.arguments = ["mpirun"] + mca + ["-np", "\(ranks)", CLISupport.binary.path] + arguments
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = env
        return p
    }

    static func run(_ p: Process) throws -> (status: Int32, stderr: String) {
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    /// Step losses (metadata), float32 weights and AdamW state (moments, step counts) of a resume file.
    static func state(_ url: URL) throws -> (losses: [Double], weights: [String: [Float]], steps: Int) {
        let file = try Safetensors.read(url)
        let losses = try JSONDecoder().decode([Double].self, from: Data(try XCTUnwrap(file.metadata["losses"]).utf8))
        let position = try JSONDecoder().decode(TrainingPosition.self, from: Data(try XCTUnwrap(file.metadata["position"]).utf8))
        var weights: [String: [Float]] = [:]
        for (name, data) in file.entries where name.hasPrefix("model.") || name.hasPrefix("optimizer.") {
            let t = try data.toTensor()
            weights[name] = Array(UnsafeBufferPointer(start: t.pointer, count: t.count))
        }
        return (losses, weights, position.optimizerSteps)
    }

    /// Every step's loss, every weight tensor and every AdamW moment (the sharded ones gathered at the
    /// save) within `tolerance` relative (‖Δ‖/‖reference‖ per tensor).
    static func assertSameRun(_ url: URL, _ reference: URL, tolerance: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try state(url), b = try state(reference)
        XCTAssertEqual(a.steps, b.steps, file: file, line: line)
        XCTAssertEqual(a.losses.count, b.losses.count, file: file, line: line)
        for (x, y) in zip(a.losses, b.losses) {
            XCTAssertLessThanOrEqual(abs(x - y), tolerance * abs(y), "loss \(x) vs \(y)", file: file, line: line)
        }
        XCTAssertEqual(Set(a.weights.keys), Set(b.weights.keys), file: file, line: line)
        var moved = 0.0
        for (name, w) in b.weights {
            let v = try XCTUnwrap(a.weights[name])
            let diff = zip(v, w).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            let norm = w.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertLessThanOrEqual(diff, tolerance * max(norm, 1e-12), "\(name)", file: file, line: line)
            moved += diff
        }
        _ = moved
    }

    func testTwoRanksEqualOneProcessOnSharedMemoryAndTCP() throws {
        let s = try Setup(self)
        let one = try CLISupport.run(s.arguments(batch: 4, out: "one", maxSteps: 5))
        XCTAssertEqual(one.status, 0, one.stderr)
        let reference = try Self.state(s.resumeFile("one"))
        XCTAssertEqual(reference.steps, 5)
        XCTAssertEqual(Set(reference.losses).count, 5, "the losses must change from step to step")

        let two = try Self.run(Self.mpirun(ranks: 2, s.arguments(batch: 2, out: "two", maxSteps: 5)))
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stderr.contains("data parallel: 2 ranks × batch 2"), two.stderr)
        XCTAssertTrue(two.stderr.contains("optimizer step sharded (ZeRO-1)"), two.stderr)
        XCTAssertTrue(two.stderr.contains("all-gather of the sharded optimizer step"), two.stderr)
        try Self.assertSameRun(s.resumeFile("two"), s.resumeFile("one"))

        // Three ranks cut the tensors at other places; the whole optimizer step on every rank is the same run too.
        let three = try Self.run(Self.mpirun(ranks: 3, s.arguments(batch: 2, out: "three", maxSteps: 4, extra: ["--no-allreduce-overlap"])))
        XCTAssertEqual(three.status, 0, three.stderr)
        let unsharded = try Self.run(Self.mpirun(ranks: 3, s.arguments(batch: 2, out: "unsharded", maxSteps: 4, extra: ["--no-allreduce-overlap", "--no-optimizer-sharding"])))
        XCTAssertEqual(unsharded.status, 0, unsharded.stderr)
        XCTAssertTrue(unsharded.stderr.contains("optimizer step on every rank"), unsharded.stderr)
        XCTAssertFalse(unsharded.stderr.contains("all-gather"), unsharded.stderr)
        try Self.assertSameRun(s.resumeFile("three"), s.resumeFile("unsharded"))

        let tcp = try Self.run(Self.mpirun(ranks: 2, tcpOnly: true, s.arguments(batch: 2, out: "tcp", maxSteps: 5)))
        XCTAssertEqual(tcp.status, 0, tcp.stderr)
        try Self.assertSameRun(s.resumeFile("tcp"), s.resumeFile("one"))

        // Resume with another rank count: 1 process × 4 for 2 steps, 2 ranks × 2 to step 3 (each
        // keeps its share of the whole moments; they are gathered again at the save), then 1 process
        // × 4 to step 5 — the same global batch, so the same schedule and the same run as the straight one.
        let start = try CLISupport.run(s.arguments(batch: 4, out: "switch", maxSteps: 2))
        XCTAssertEqual(start.status, 0, start.stderr)
        let first = try Self.run(Self.mpirun(ranks: 2, s.arguments(batch: 2, out: "switch", maxSteps: 3, extra: ["--resume"])))
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(try Self.state(s.resumeFile("switch")).steps, 3)
        let rest = try CLISupport.run(s.arguments(batch: 4, out: "switch", maxSteps: 5, extra: ["--resume"]))
        XCTAssertEqual(rest.status, 0, rest.stderr)
        XCTAssertTrue(rest.stderr.contains("resumed at optimizer step 3"), rest.stderr)
        try Self.assertSameRun(s.resumeFile("switch"), s.resumeFile("one"))

        // Another global batch cannot continue the position: refused with both batches named.
        let wrong = try CLISupport.run(s.arguments(batch: 2, out: "switch", maxSteps: 6, extra: ["--resume"]))
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("global batch 4 (1 ranks × 4)"), wrong.stderr)
    }

    /// The allreduce overlapped with the backward pass (several small buckets; and every gradient in
    /// place as its own bucket) against the blocking round after the backward pass, 2 ranks: every
    /// step's loss and every final weight bit for bit. With two ranks each element's sum is a + b in
    /// either algorithm, and the averaging is the same multiplication, so nothing may differ.
    func testOverlappedAllreduceMatchesTheBlockingOneBitForBit() throws {
        let s = try Setup(self)
        let blocking = try Self.run(Self.mpirun(ranks: 2, s.arguments(batch: 2, out: "blocking", maxSteps: 4, extra: ["--no-allreduce-overlap"])))
        XCTAssertEqual(blocking.status, 0, blocking.stderr)
        XCTAssertTrue(blocking.stderr.contains("GB/s"), blocking.stderr)
        for (out, mb) in [("buckets", "0.02"), ("inplace", "0")] {
            let run = try Self.run(Self.mpirun(ranks: 2, s.arguments(batch: 2, out: out, maxSteps: 4, extra: ["--allreduce-bucket-mb", mb])))
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stderr.contains("overlapped with the backward pass"), run.stderr)
            try Self.assertSameRun(s.resumeFile(out), s.resumeFile("blocking"), tolerance: 0)
        }
        let bad = try CLISupport.run(s.arguments(batch: 4, out: "bad", maxSteps: 1, extra: ["--allreduce-bucket-mb", "5000"]))
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--allreduce-bucket-mb"), bad.stderr)
    }

    /// A rank killed mid-run ends the job non-zero within seconds; the last checkpoint stays loadable.
    func testKilledRankEndsTheJobAndLeavesTheCheckpoint() throws {
        let s = try Setup(self)
        let tag = UUID().uuidString
        let job = Self.mpirun(ranks: 2, s.arguments(batch: 2, out: "killed", maxSteps: 100_000, epochs: 1000, extra: ["--save-interval", "2"]))
        job.environment?["MMV_DISTRIBUTED_TEST"] = tag
        let err = Pipe()
        job.standardError = err
        job.standardOutput = FileHandle.nullDevice
        try job.run()
        let stderrText = LockedText()
        err.fileHandleForReading.readabilityHandler = { stderrText.append($0.availableData) }
        defer { if job.isRunning { kill(job.processIdentifier, SIGKILL) } }

        // Wait for a checkpoint, then kill rank 1 (found by its environment).
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: s.resumeFile("killed").path) && Date() < deadline && job.isRunning { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: s.resumeFile("killed").path), stderrText.value)
        let rank1 = try XCTUnwrap(Self.process(environment: ["MMV_DISTRIBUTED_TEST=\(tag)", "OMPI_COMM_WORLD_RANK=1"]), "rank 1 not found")
        let killed = Date()
        XCTAssertEqual(kill(rank1, SIGKILL), 0)
        while job.isRunning && Date().timeIntervalSince(killed) < 30 { usleep(50_000) }
        XCTAssertFalse(job.isRunning, "the job did not end within 30 s of the rank's death")
        XCTAssertNotEqual(job.terminationStatus, 0)
        err.fileHandleForReading.readabilityHandler = nil

        // The checkpoint written before the kill resumes (in one process, global batch 4).
        let saved = try Self.state(s.resumeFile("killed"))
        XCTAssertGreaterThanOrEqual(saved.steps, 2)
        XCTAssertEqual(saved.steps % 2, 0, "checkpoints are written every 2 steps")
        let resumed = try CLISupport.run(s.arguments(batch: 4, out: "killed", maxSteps: saved.steps + 1, epochs: 1000, extra: ["--resume"]))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resumed at optimizer step \(saved.steps)"), resumed.stderr)
        XCTAssertEqual(try Self.state(s.resumeFile("killed")).steps, saved.steps + 1)
    }

    /// The pid of the process whose environment holds all of `entries` (Linux /proc).
    static func process(environment entries: [String]) -> pid_t? {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for name in procs {
            guard let pid = pid_t(name), let data = FileManager.default.contents(atPath: "/proc/\(name)/environ") else { continue }
            let env = Set(data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            if entries.allSatisfy(env.contains), let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/exe"),
               exe.hasSuffix("minimind-v") { return pid }
        }
        return nil
    }
}

/// Text appended from a pipe's handler thread.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ d: Data) { lock.lock(); data.append(d); lock.unlock() }
    var value: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
