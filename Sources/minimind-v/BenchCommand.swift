import ArgumentParser
import Foundation
import MiniMindV
import MiniMindVBench

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed: a model's image encoding, prefill and decode, or the tensor kernels at the model shapes.",
        subcommands: [ModelBench.self, KernelsBench.self, TrainBench.self, ServeBench.self])
}

/// Reports go to stdout (markdown or JSON); progress to stderr so `--json > file` stays clean.
func progress(_ line: String) { FileHandle.standardError.write(Data("… \(line)\n".utf8)) }

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// What `bench model` and `bench train` share: the preset and the seed of its random weights,
/// repetitions after warm-up, threads, `--compute` and the output format. Threads are range-checked
/// by `InputRange.setThreads` in `apply()`.
struct BenchRunOptions: ParsableArguments {
    @Option(help: "Model preset: \(VLMPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: String = VLMPreset.minimind2SmallV.rawValue

    @Option(help: "Timed repetitions per test.")
    var repetitions: Int = 5

    @Option(help: "Untimed warm-up runs per test (default: 1; `bench train step`: 2, as its second step still allocates memory).")
    var warmup: Int?

    @Option(help: "Threads for BLAS and Swift kernels (default: all cores or MINIMIND_THREADS).")
    var threads: Int?

    @Option(help: "Seed of the random weights.")
    var seed: UInt64 = 0

    @Flag(help: "Print JSON instead of a markdown table.")
    var json = false

    @OptionGroup var computeOptions: ComputeOptions

    func validate() throws {
        guard VLMPreset(rawValue: preset) != nil else {
            throw ValidationError("unknown preset '\(preset)'; available: \(VLMPreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard repetitions > 0 else { throw ValidationError("--repetitions must be positive, found \(repetitions)") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must be zero or more, found \(warmup)") }
    }

    /// The preset (checked by `validate()`).
    func modelPreset() throws -> VLMPreset { try VLMPreset.named(preset) }

    /// Sets the thread count (checked) and `--compute`'s precision.
    func apply() throws {
        try InputRange.setThreads(threads)
        computeOptions.apply()
    }
}

struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "llama-bench style: img-encode (images/s), ppN prefill and tgN decode (tokens/s) of a preset with random weights.",
        discussion: """
            img-encode: one image [1,3,S,S] through the vision tower. ppN: N prompt tokens into a fresh KV cache, \
            logits of the last position only. tgN: N single-token steps after a \(ModelBenchmark.promptForGenerate)-token \
            prompt, each taking the argmax as the next token. tgNxB: N steps of B sequences decoded together, each \
            in its own KV cache, as the server's continuous batch does (aggregate tokens/s). Rates are mean ± sample stddev over the repetitions, \
            after the warm-up runs. Scripts/bench_torch.py measures the same tests in PyTorch.
            """)

    @Option(help: "Comma-separated tests: img-encode, ppN, tgN, tgNxB (B sequences at once).")
    var tests: String = "img-encode,pp512,tg128"

    @OptionGroup var options: BenchRunOptions

    @Option(name: .customLong("decode-dtype"), help: "Precision of the weights decode steps read: f32, bf16, int8 or int4 (then also measures its error against f32).")
    var decodeDType: DecodeDType = .f32

    @Option(help: "Quantise the attention and feed-forward layers as `convert --quantize int8|int4` writes them (the layers of a quantised model folder).")
    var quantize: String?

    func parsedTests() throws -> [ModelBenchTest] {
        let names = tests.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw ValidationError("--tests is empty; use img-encode, ppN, tgN") }
        return try names.map { name in
            guard let t = ModelBenchTest(name: name) else {
                throw ValidationError("unknown test '\(name)': use img-encode, ppN, tgN or tgNxB with B in 1...\(ModelBenchTest.maxBatch) (e.g. pp512, tg128, tg64x8)")
            }
            return t
        }
    }

    func validate() throws {
        _ = try parsedTests()
        if let quantize, WeightQuantization.Scheme(rawValue: quantize) == nil {
            throw ValidationError("--quantize must be int8 or int4 (got \(quantize))")
        }
    }

    func run() throws {
        try options.apply()
        let p = try options.modelPreset()
        progress("building \(p.rawValue) with random weights (seed \(options.seed))")
        let model = try MiniMindVLM(config: p.config, seed: options.seed)
        if let scheme = quantize.flatMap(WeightQuantization.Scheme.init(rawValue:)) {
            progress("quantising the attention and feed-forward layers: \(scheme.rawValue)")
            try QuantizedWeights.quantize(try model.language.capability((any CompressibleLanguageModel).self, for: "weight quantization"),
                                          WeightQuantization(scheme))
        }
        model.language.setDecodeDType(decodeDType)
        let bench = ModelBenchmark(model: model, presetName: p.rawValue, repetitions: options.repetitions, warmup: options.warmup ?? 1)
        let report = bench.run(try parsedTests(), progress: progress)
        if options.json { try printJSON(report) } else { print(ModelBenchmark.markdown(report)) }
    }
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
        guard repetitions > 0 else { throw ValidationError("--repetitions must be positive, found \(repetitions)") }
    }

    func run() throws {
        try InputRange.setThreads(threads)
        let rows = KernelBenchmark(repetitions: repetitions).run(progress: progress)
        if json { try printJSON(rows) } else { print(KernelBenchmark.markdown(rows, threads: Threads.count)) }
    }
}
