import Foundation
import MiniMindV

/// One test of `minimind-v bench model`, named as llama-bench names them.
public enum ModelBenchTest: Equatable, Sendable, CustomStringConvertible {
    /// One preprocessed image [1, 3, S, S] through the vision tower (images/s).
    case imageEncode
    /// Prefill of n prompt tokens into a fresh KV cache, logits of the last position only (tokens/s).
    case prompt(Int)
    /// n single-token decode steps after a short prompt, each picking the argmax as the next id (tokens/s).
    case generate(Int)
    /// n decode steps of `batch` sequences at once, each in its own KV cache, as a continuous batch
    /// (`ContinuousBatch`, `LanguageModel.lastLogits(packed:counts:caches:)`) runs them: aggregate tokens/s.
    case generateBatch(Int, batch: Int)

    /// Parses `img-encode`, `ppN`, `tgN`, `tgNxB`.
    public init?(name: String) {
        if name == "img-encode" { self = .imageEncode; return }
        if name.hasPrefix("tg"), let x = name.firstIndex(of: "x") {
            guard let n = Int(name[name.index(name.startIndex, offsetBy: 2)..<x]), let b = Int(name[name.index(after: x)...]),
                  n > 0, (1...ModelBenchTest.maxBatch).contains(b) else { return nil }
            self = .generateBatch(n, batch: b)
            return
        }
        guard name.count > 2, let n = Int(name.dropFirst(2)), n > 0 else { return nil }
        switch name.prefix(2) {
        case "pp": self = .prompt(n)
        case "tg": self = .generate(n)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .imageEncode: return "img-encode"
        case .prompt(let n): return "pp\(n)"
        case .generate(let n): return "tg\(n)"
        case let .generateBatch(n, b): return "tg\(n)x\(b)"
        }
    }

    /// Most sequences of a `tgNxB` test (each gets its own cache).
    public static let maxBatch = 256

    /// Decode steps per repetition (nil for the tests that are no decode).
    var steps: Int? {
        switch self {
        case .generate(let n), .generateBatch(let n, _): return n
        default: return nil
        }
    }

    public var unit: String { self == .imageEncode ? "images/s" : "tokens/s" }
}

/// `minimind-v bench model`: image encoding, prefill and decode speed of a VLM (random weights are
/// as fast as real ones). Rates are computed per repetition; mean ± sample stddev of those rates is
/// reported, as llama-bench does. `Scripts/bench_torch.py` measures the same tests in PyTorch.
public struct ModelBenchmark {
    public struct Result: Codable, Sendable {
        public var test: String
        public var unit: String
        /// Mean and sample standard deviation of the per-repetition rates.
        public var mean: Double
        public var stddev: Double
        public var secondsMean: Double
        public var secondsStddev: Double
        public var repetitions: Int

        enum CodingKeys: String, CodingKey {
            case test, unit, mean, stddev, repetitions
            case secondsMean = "seconds_mean", secondsStddev = "seconds_stddev"
        }
    }

    public struct Report: Codable, Sendable {
        public var engine: String
        public var preset: String
        public var threads: Int
        public var dtype: String
        /// Precision of the weights decode steps read (`DecodeDType`); the tests other than tgN use f32.
        public var decodeDType: String
        public var results: [Result]
        /// The decode precision's error against float32 (absent for f32).
        public var accuracy: DecodeAccuracy?
        /// The CPU, BLAS library and kernel core that produced the numbers.
        public var compute: ComputeReport
        /// The compute precision's error against float32 (absent for f32).
        public var computeAccuracy: ComputeAccuracy?

        enum CodingKeys: String, CodingKey {
            case engine, preset, threads, dtype, results, accuracy, compute
            case computeAccuracy = "compute_accuracy"
            case decodeDType = "decode_dtype"
        }
    }

    /// Prompt tokens before the timed decode steps of a `tgN` test (the PyTorch script uses the same).
    public static let promptForGenerate = 16

    public let model: MiniMindVLM
    public let presetName: String
    public var repetitions: Int
    public var warmup: Int

    /// Steps of the accuracy check of a packed decode precision.
    public static let accuracySteps = 64
    /// Prompt tokens of the accuracy check of a compute precision.
    public static let accuracyPromptTokens = 128

    public init(model: MiniMindVLM, presetName: String, repetitions: Int = 5, warmup: Int = 1) {
        self.model = model
        self.presetName = presetName
        self.repetitions = repetitions
        self.warmup = warmup
    }

    /// The error of decoding in `dtype` against float32 (greedy, from the tgN prompt); leaves the
    /// model decoding in `dtype`.
    public func accuracy(_ dtype: DecodeDType) -> DecodeAccuracy {
        DecodeAccuracy.measure(model.language, dtype: dtype, prompt: randomIds(Self.promptForGenerate, seed: 2), steps: Self.accuracySteps)
    }

    /// Runs the tests with the model's current decode precision (`MiniMindLM.setDecodeDType`);
    /// for a packed one, first measures its accuracy against float32.
    public func run(_ tests: [ModelBenchTest], progress: (String) -> Void = { _ in }) -> Report {
        let decodeDType = model.language.decodeDType
        var accuracy: DecodeAccuracy?
        if decodeDType != .f32 {
            progress("accuracy of \(decodeDType.rawValue) decode against f32")
            accuracy = self.accuracy(decodeDType)
        }
        var computeAccuracy: ComputeAccuracy?
        if Compute.effectivePrecision == .bf16 { model.storeBFloat16Weights() }  // as the CLI's inference commands do
        if Compute.effectivePrecision != .f32 {
            progress("accuracy of \(Compute.effectivePrecision.rawValue) compute against f32")
            var g = SeededGenerator(seed: 0)
            let s = model.config.vision.imageSize
            computeAccuracy = ComputeAccuracy.measure(model, precision: Compute.effectivePrecision,
                                                      pixels: Tensor.randn([1, 3, s, s], generator: &g),
                                                      ids: randomIds(Self.accuracyPromptTokens, seed: 3))
        }
        var results: [Result] = []
        for test in tests {
            progress(test.description)
            let seconds: [Double], work: Double
            switch test {
            case .imageEncode: (seconds, work) = (imageEncode(), 1)
            case .prompt(let n): (seconds, work) = (prefill(n), Double(n))
            case .generate(let n): (seconds, work) = (decode(n), Double(n))
            case let .generateBatch(n, b): (seconds, work) = (decodeBatch(n, batch: b), Double(n * b))
            }
            results.append(Self.summarize(test: test, seconds: seconds, work: work))
        }
        return Report(engine: "minimind-v (Swift, OpenBLAS)", preset: presetName, threads: Threads.count,
                      dtype: Compute.effectivePrecision.rawValue, decodeDType: decodeDType.rawValue, results: results,
                      accuracy: accuracy, compute: .current, computeAccuracy: computeAccuracy)
    }

    /// Runs `body` warm-up times, then `repetitions` times; `body` returns its own timed seconds.
    private func samples(_ body: () -> Double) -> [Double] {
        for _ in 0..<warmup { _ = body() }
        return (0..<max(1, repetitions)).map { _ in body() }
    }


    private func imageEncode() -> [Double] {
        let s = model.config.vision.imageSize
        var g = SeededGenerator(seed: 0)
        let pixels = Tensor.randn([1, 3, s, s], generator: &g)
        return samples {
            let start = monotonicSeconds()
            _ = model.visionFeatures(pixels)
            return monotonicSeconds() - start
        }
    }

    private func randomIds(_ n: Int, seed: UInt64) -> [Int] {
        var g = SeededGenerator(seed: seed)
        let vocab = UInt64(model.config.language.vocabSize)
        return (0..<n).map { _ in 3 + Int(g.next() % (vocab - 3)) }
    }

    private func prefill(_ n: Int) -> [Double] {
        let lm = model.language
        let ids = randomIds(n, seed: 1)
        let cache = lm.makeCache(batch: 1, maxLength: n)
        return noGrad {
            samples {
                cache.reset()
                let start = monotonicSeconds()
                _ = lm.logits(embeddings: lm.embed(ids, batch: 1), cache: cache, keyMask: nil, positions: .last)
                return monotonicSeconds() - start
            }
        }
    }

    private func decode(_ n: Int) -> [Double] {
        let lm = model.language
        let prompt = randomIds(Self.promptForGenerate, seed: 2)
        let cache = lm.makeCache(batch: 1, maxLength: Self.promptForGenerate + n)
        return noGrad {
            samples {
                cache.reset()
                var logits = lm.logits(embeddings: lm.embed(prompt, batch: 1), cache: cache, keyMask: nil, positions: .last)
                let start = monotonicSeconds()
                for _ in 0..<n {
                    let next = Self.argmax(logits)
                    logits = lm.logits(embeddings: lm.embed([next], batch: 1), cache: cache, keyMask: nil, positions: .last)
                }
                return monotonicSeconds() - start
            }
        }
    }

    /// `batch` sequences with different random prompts, prefilled together by one packed forward,
    /// then n steps of one batched forward each (every row's argmax is its next id), as
    /// `ContinuousBatch.step` decodes: the time of the n steps.
    private func decodeBatch(_ n: Int, batch: Int) -> [Double] {
        let lm = model.language, vocab = model.config.language.vocabSize, p = Self.promptForGenerate
        let prompts = (0..<batch).flatMap { randomIds(p, seed: 2 + UInt64($0)) }
        let caches = (0..<batch).map { _ in lm.makeCache(batch: 1, maxLength: p + n) }
        let counts = [Int](repeating: p, count: batch)
        return noGrad {
            samples {
                for cache in caches { cache.reset() }
                var logits = lm.lastLogits(packed: lm.embed(prompts, batch: 1), counts: counts, caches: caches)
                let start = monotonicSeconds()
                for _ in 0..<n {
                    let next = (0..<batch).map { Self.argmax(logits.pointer + $0 * vocab, count: vocab) }
                    logits = lm.logits(embeddings: lm.embed(next, batch: batch), caches: caches)
                }
                return monotonicSeconds() - start
            }
        }
    }

    private static func argmax(_ logits: Tensor) -> Int { argmax(logits.pointer, count: logits.count) }

    private static func argmax(_ p: UnsafePointer<Float>, count n: Int) -> Int {
        var best = 0
        for i in 1..<n where p[i] > p[best] { best = i }
        return best
    }

    static func summarize(test: ModelBenchTest, seconds: [Double], work: Double) -> Result {
        let rates = seconds.map { work / $0 }
        func meanStd(_ xs: [Double]) -> (Double, Double) {
            let m = xs.reduce(0, +) / Double(xs.count)
            let v = xs.count > 1 ? xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1) : 0
            return (m, v.squareRoot())
        }
        let (rm, rs) = meanStd(rates), (sm, ss) = meanStd(seconds)
        return Result(test: test.description, unit: test.unit, mean: rm, stddev: rs, secondsMean: sm, secondsStddev: ss,
                      repetitions: seconds.count)
    }

    /// A llama-bench style table.
    public static func markdown(_ report: Report) -> String {
        var s = "engine: \(report.engine) · preset \(report.preset) · threads \(report.threads) · dtype \(report.dtype)"
            + " · decode dtype \(report.decodeDType)\n\(report.compute.summary)\n"
            + "CPU features: \(report.compute.cpuFeatures.joined(separator: " "))\n\n"
        s += "| preset | test | rate | ± | unit | ms/step | reps |\n|---|---|---|---|---|---|---|\n"
        for r in report.results {
            let step = ModelBenchTest(name: r.test)?.steps.map { fixed(r.secondsMean * 1000 / Double($0), 2) } ?? "-"
            s += "| \(report.preset) | \(r.test) | \(fixed(r.mean, 2)) | \(fixed(r.stddev, 2)) | \(r.unit) | \(step) | \(r.repetitions) |\n"
        }
        if let a = report.accuracy {
            s += "\n\(a.dtype) decode vs f32 over \(a.steps) greedy steps: max |logit diff| \(fixed(a.maxAbsLogitDiff, 4))"
                + " (max |logit| \(fixed(a.maxAbsLogit, 2))), argmax agreement \(fixed(a.argmaxAgreement * 100, 1)) %,"
                + " free-running ids equal for the first \(a.matchingPrefix)\n"
        }
        if let a = report.computeAccuracy {
            s += "\n\(a.precision) compute vs f32: image features max |diff| \(fixed(a.maxAbsFeatureDiff, 4))"
                + " (max |feature| \(fixed(a.maxAbsFeature, 2)), relative \(fixed(a.relativeFeatureError * 100, 2)) %);"
                + " \(a.promptTokens)-token prompt logits max |diff| \(fixed(a.maxAbsLogitDiff, 4))"
                + " (max |logit| \(fixed(a.maxAbsLogit, 2))), argmax agreement \(fixed(a.argmaxAgreement * 100, 1)) %\n"
        }
        return s
    }
}
