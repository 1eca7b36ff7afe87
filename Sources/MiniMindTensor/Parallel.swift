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

    /// Chunks per thread in `parallelFor`. concurrentPerform hands chunks to whichever thread asks next;
    /// with exactly one chunk per thread, a worker that wakes late (a busy machine) makes the caller
    /// wait for it, often longer than running everything inline. With a few chunks per thread the
    /// caller takes the work the late worker has not started. (Measured in Docs/Performance.md, "Kernels".)
    static let chunksPerThread = 4

    /// Runs `body(range)` over `0..<total` split into at most `count × chunksPerThread` chunks of at
    /// least `minChunk` items. Small jobs run inline. Chunk bounds depend only on `total`, `minChunk`
    /// and the thread count, never on timing. Never call BLAS inside `body`.
    public static func parallelFor(_ total: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
        let chunks = count <= 1 ? 1 : min(count * chunksPerThread, max(1, total / max(minChunk, 1)))
        if chunks <= 1 { body(0..<total); return }
        let size = (total + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * size, hi = min(total, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }
}
