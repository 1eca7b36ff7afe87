import Foundation

/// Chooses each next token from last-position logits in upstream's order (Docs/Model.md, "Generation"):
/// temperature → repetition penalty → top-k → top-p → draw (or argmax when greedy).
/// Holds its own seeded generator and the set of ids seen so far (for the penalty).
public struct Sampler {
    public let options: SamplingOptions
    /// The seed in use (options.seed, or a random one when that is nil).
    public let seed: UInt64
    private var rng: SeededGenerator
    private var seen: [Bool]
    /// Distinct ids seen, in first-seen order (the penalty touches each once).
    private(set) var seenIds: [Int] = []

    public init(options: SamplingOptions, vocabularySize: Int) {
        self.options = options
        var system = SystemRandomNumberGenerator()
        seed = options.seed ?? system.next()
        rng = SeededGenerator(seed: seed)
        seen = [Bool](repeating: false, count: max(vocabularySize, 0))
    }

    /// Records ids now in the sequence (the prompt, then each generated token).
    public mutating func observe<S: Sequence>(_ ids: S) where S.Element == Int {
        for id in ids where id >= 0 && id < seen.count && !seen[id] {
            seen[id] = true
            seenIds.append(id)
        }
    }

    /// Processes `logits` (one row of vocabularySize) in place and returns the chosen id.
    public mutating func next(logits: UnsafeMutableBufferPointer<Float>) -> Int {
        if !options.isGreedy { Self.applyTemperature(logits, options.temperature) }
        Self.applyRepetitionPenalty(logits, ids: seenIds, penalty: options.repetitionPenalty)
        if options.isGreedy { return Self.argmax(logits) }
        Self.applyTopK(logits, options.topK)
        Self.applyTopP(logits, options.topP)
        return Self.draw(logits, using: &rng)
    }

    /// Convenience for arrays (tests, small uses).
    public mutating func next(logits: [Float]) -> Int {
        var copy = logits
        return copy.withUnsafeMutableBufferPointer { next(logits: $0) }
    }

    // MARK: - The steps (static so tests can check each on hand-made logits)

    public static func applyTemperature(_ logits: UnsafeMutableBufferPointer<Float>, _ temperature: Float) {
        guard temperature > 0, temperature != 1 else { return }
        // Division, not multiplication by 1/t, to match upstream's `logits / temperature` bit for bit.
        for i in logits.indices { logits[i] = logits[i] / temperature }
    }

    /// For each distinct id: positive logits are divided by `penalty`, negative ones multiplied (CTRL / HF rule).
    public static func applyRepetitionPenalty<S: Sequence>(_ logits: UnsafeMutableBufferPointer<Float>, ids: S, penalty: Float)
    where S.Element == Int {
        guard penalty != 1 else { return }
        for id in ids where id >= 0 && id < logits.count {
            let v = logits[id]
            logits[id] = v > 0 ? v / penalty : v * penalty
        }
    }

    /// Sets every logit below the k-th largest to -inf (values equal to it stay, as upstream's
    /// `logits < topk(logits, k)[-1]`). k = 0 or k ≥ count: unchanged.
    public static func applyTopK(_ logits: UnsafeMutableBufferPointer<Float>, _ k: Int) {
        guard k > 0, k < logits.count else { return }
        var copy = Array(logits)
        let threshold = kthLargest(&copy, k)
        for i in logits.indices where logits[i] < threshold { logits[i] = -.infinity }
    }

    /// Nucleus filter: sort by probability (descending; ties by id), and drop token i of that order
    /// when the probabilities before it already sum to more than p (upstream's shifted
    /// `cumsum > top_p` mask). The most likely token always stays. p ≥ 1: unchanged.
    public static func applyTopP(_ logits: UnsafeMutableBufferPointer<Float>, _ p: Float) {
        guard p < 1 else { return }
        var order = logits.indices.filter { logits[$0] > -.infinity }
        guard order.count > 1 else { return }
        order.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        let probs = softmax(order.map { logits[$0] })
        var cumulative: Double = 0
        for (rank, id) in order.enumerated() {
            if rank > 0 && cumulative > Double(p) { logits[id] = -.infinity }
            cumulative += probs[rank]
        }
    }

    /// Index of the largest logit (the first one on ties, as torch.argmax).
    public static func argmax(_ logits: UnsafeMutableBufferPointer<Float>) -> Int {
        guard !logits.isEmpty else { return 0 }
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    /// Draws an id with probability softmax(logits) (-inf entries never), using one uniform number.
    public static func draw(_ logits: UnsafeMutableBufferPointer<Float>, using rng: inout SeededGenerator) -> Int {
        var m = -Float.infinity
        for v in logits where v > m { m = v }
        guard m > -.infinity, m.isFinite else { return argmax(logits) }
        var total: Double = 0
        for v in logits where v > -.infinity { total += Foundation.exp(Double(v - m)) }
        let target = rng.nextDouble() * total
        var cumulative: Double = 0
        var last = 0
        for i in logits.indices where logits[i] > -.infinity {
            cumulative += Foundation.exp(Double(logits[i] - m))
            last = i
            if cumulative > target { return i }
        }
        return last
    }

    /// Softmax in Double of finite-or--inf values (the top-p mass; -inf gives 0).
    static func softmax(_ values: [Float]) -> [Double] {
        let m = values.max() ?? 0
        let e = values.map { $0 == -.infinity ? 0 : Foundation.exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// The k-th largest value (1-based) by quickselect; reorders `values`.
    static func kthLargest(_ values: inout [Float], _ k: Int) -> Float {
        var lo = 0, hi = values.count - 1
        let target = k - 1
        while lo < hi {
            let pivot = values[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while values[i] > pivot { i += 1 }
                while values[j] < pivot { j -= 1 }
                if i <= j { values.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { return values[target] }
        }
        return values[target]
    }
}
