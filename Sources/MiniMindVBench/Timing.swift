import Foundation
import MiniMindV

/// Wall-clock timing with warm-up and repetitions; reports mean and sample standard deviation, and
/// each repetition's seconds (a slow first repetition means the warm-up was too short).
public struct Timing: Codable, Sendable {
    public var meanSeconds: Double
    public var stddevSeconds: Double
    public var repetitions: Int
    public var samplesSeconds: [Double]

    public static func measure(warmup: Int = 2, repetitions: Int = 10, _ body: () -> Void) -> Timing {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let start = monotonicSeconds()
            body()
            samples.append(monotonicSeconds() - start)
        }
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.count > 1
            ? samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(samples.count - 1) : 0
        return Timing(meanSeconds: mean, stddevSeconds: variance.squareRoot(), repetitions: samples.count,
                      samplesSeconds: samples)
    }
}
