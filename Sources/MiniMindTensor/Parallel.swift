import Foundation
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// The one place that decides how many threads the BLAS library and Swift kernels use.
/// Results are deterministic for a given thread count: chunking never depends on timing.
public enum Threads {
    nonisolated(unsafe) public private(set) static var count: Int = {
        let env = ProcessInfo.processInfo.environment["MINIMIND_THREADS"].flatMap(Int.init)
        let n = max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)
        setBLASThreads(n)
        return n
    }()

    /// Sets the thread count for BLAS and for the chunked Swift loops.
    public static func set(_ n: Int) {
        let n = max(1, n)
        count = n
        setBLASThreads(n)
    }

    private static func setBLASThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(n))
        #endif
    }

    /// Runs `body(chunkIndex, range)` over `0..<total` split into at most `count` chunks of at least
    /// `minChunk` items. Small jobs run inline. Never call BLAS inside `body`.
    public static func parallelFor(_ total: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
        let chunks = min(count, max(1, total / max(minChunk, 1)))
        if chunks <= 1 { body(0..<total); return }
        let size = (total + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * size, hi = min(total, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }
}
