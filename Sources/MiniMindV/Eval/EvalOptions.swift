import Foundation

/// A vision-reliance ablation: the same questions with a blank image, or with another sample's image.
public enum EvalAblation: String, CaseIterable, Codable, Sendable {
    case blank, shuffle

    /// The run's name in metrics.json and the report.
    public var runName: String { self == .blank ? "blank" : "shuffled" }
}

public struct EvalOptions: Sendable {
    public var task: EvalTask
    public var maxNewTokens: Int
    /// Prompts decoded together by `Generator.generateBatch` (and rows per perplexity batch).
    public var batchSize: Int
    public var ablations: [EvalAblation]
    /// Also measure teacher-forced perplexity on the rows of the samples.
    public var perplexity: Bool
    /// Seed of the permutation of the shuffle ablation.
    public var shuffleSeed: UInt64

    public static let maxNewTokensRange = 1...4096
    public static let batchSizeRange = 1...1024

    public init(task: EvalTask = .auto, maxNewTokens: Int = 32, batchSize: Int = 16, ablations: [EvalAblation] = [],
                perplexity: Bool = true, shuffleSeed: UInt64 = 0) {
        self.task = task
        self.maxNewTokens = maxNewTokens
        self.batchSize = batchSize
        self.ablations = ablations
        self.perplexity = perplexity
        self.shuffleSeed = shuffleSeed
    }

    public func validate() throws {
        guard Self.maxNewTokensRange.contains(maxNewTokens) else {
            throw EvalError.invalidOption(name: "max-new-tokens", value: "\(maxNewTokens)", allowed: "1…4096")
        }
        guard Self.batchSizeRange.contains(batchSize) else {
            throw EvalError.invalidOption(name: "batch", value: "\(batchSize)", allowed: "1…1024")
        }
    }
}

public enum EvalError: Error, CustomStringConvertible, Equatable {
    /// An option outside its range: the option, the value given and what is allowed.
    case invalidOption(name: String, value: String, allowed: String)
    /// Nothing left to evaluate.
    case noSamples(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidOption(name, value, allowed): return "--\(name) \(value) is not allowed (allowed: \(allowed))"
        case let .noSamples(why): return "nothing to evaluate: \(why)"
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}
