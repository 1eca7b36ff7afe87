import Foundation
import XCTest
@testable import MiniMindTensor

/// Gradient clipping's sum of squares, now summed in fixed blocks across the pool: the same bits
/// whatever the thread count, and within Double rounding of a sequential float64 sum. (The clip
/// itself is checked against `torch.nn.utils.clip_grad_norm_` in OptimScheduleAndClipTests.)
final class SumOfSquaresTests: XCTestCase {
    func testBlockedSumIsIndependentOfThreadsAndMatchesASequentialSum() {
        var gen = SeededGenerator(seed: 5)
        let count = 5 * Kernels.sumSquaresBlock + 1_234
        let x = (0..<count).map { _ in (gen.nextUniform() - 0.5) * 3 }
        let saved = Threads.count
        defer { Threads.set(saved) }
        var results: [Double] = []
        for threads in [1, 2, 3] {
            Threads.set(threads)
            results.append(x.withUnsafeBufferPointer { Kernels.parallelSumSquaresDouble($0.baseAddress!, count: count) })
        }
        XCTAssertEqual(Set(results).count, 1, "\(results)")
        let reference = x.reduce(0.0) { $0 + Double($1) * Double($1) }
        // Both are Double sums of positive terms in different orders: each within count·ε of the exact sum.
        XCTAssertEqual(results[0], reference, accuracy: reference * Double(count) * Double.ulpOfOne)
    }
}
