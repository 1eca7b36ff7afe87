import ArgumentParser
import Foundation
import MiniMindV

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed: tensor kernels at the model shapes, against baselines run in the same process.",
        subcommands: [KernelsBench.self])
}

struct KernelsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time matmul, attention, RMSNorm and softmax-cross-entropy at the real model shapes.")

    @Option(help: "Timed repetitions per kernel (after 2 warm-up runs).")
    var repetitions: Int = 20

    @Option(help: "Threads for BLAS and Swift kernels (default: all cores or MINIMIND_THREADS).")
    var threads: Int?

    @Flag(help: "Print JSON instead of a markdown table.")
    var json = false

    func validate() throws {
        guard repetitions > 0 else { throw ValidationError("--repetitions must be positive") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        if let threads { Threads.set(threads) }
        let rows = KernelBenchmark(repetitions: repetitions).run { FileHandle.standardError.write(Data("… \($0)\n".utf8)) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            print(KernelBenchmark.markdown(rows, threads: Threads.count))
        }
    }
}
