import Foundation
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// The one place that decides how many threads the BLAS calls and Swift kernels use.
/// Results are deterministic for a given thread count: chunking never depends on timing.
public enum Threads {
    /// The compute pool; its size is the thread count. First use picks OpenBLAS's kernels by the
    /// CPU's features (before any BLAS call) and makes OpenBLAS single-threaded.
    nonisolated(unsafe) private static var pool: WorkerPool = {
        _ = BLASKernelSelection.current
        makeBLASSingleThreaded()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let env = ProcessInfo.processInfo.environment["MINIMIND_THREADS"].flatMap(Int.init)
        // Clamped like --threads (1 … max(64, 4 × cores)): more threads only spin.
        return WorkerPool(threads: min(max(1, env ?? cores), max(64, 4 * cores)))
    }()

    /// Threads for BLAS and the Swift kernels: `MINIMIND_THREADS`, else all cores.
    public static var count: Int { pool.threads }

    /// Sets the thread count for BLAS and for the chunked Swift loops. Not while other threads compute.
    public static func set(_ n: Int) {
        let n = max(1, n)
        guard n != count else { return }
        pool.shutdown()
        pool = WorkerPool(threads: n)
    }

    /// OpenBLAS itself runs single-threaded; `BLAS.gemm` splits large products across the pool.
    /// (Its own workers would spin beside ours; see `WorkerPool`.)
    private static func makeBLASSingleThreaded() {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }

    /// Chunks per thread in `parallelFor`: chunks go to whichever thread claims them next, so with a
    /// few per thread the caller takes the work of a worker that wakes late (a busy machine) instead
    /// of waiting for it. (Measured in Docs/Performance.md, "Kernels".)
    static let chunksPerThread = 4

    /// Runs `body(range)` over `0..<total` split into at most `count × chunksPerThread` chunks of at
    /// least `minChunk` items. Small jobs run inline, and so does a call made from inside a chunk.
    /// Chunk bounds depend only on `total`, `minChunk` and the thread count, never on timing.
    public static func parallelFor(_ total: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
        let chunks = count <= 1 ? 1 : min(count * chunksPerThread, max(1, total / max(minChunk, 1)))
        if chunks <= 1 { body(0..<total); return }
        let size = (total + chunks - 1) / chunks
        run(chunks: chunks) { c in
            let lo = c * size, hi = min(total, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body(c)` for c in 0..<chunks across the pool, in claim order 0, 1, … (inline when nested
    /// or single-threaded).
    public static func run(chunks: Int, _ body: (Int) -> Void) {
        run(chunksWithParticipant: chunks) { c, _ in body(c) }
    }

    /// Runs `body(unit, scratch)` for unit in 0..<units across the pool, where `scratch` holds
    /// `scratchCount` floats (uninitialised) private to the thread running the unit. For independent
    /// work items that each need a temporary block, such as attention's score blocks.
    public static func forEach(units: Int, scratchCount: Int,
                               _ body: (_ unit: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void) {
        if units <= 0 { return }
        let participants = units > 1 ? count : 1
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, participants * scratchCount))
        defer { scratch.deallocate() }
        run(chunksWithParticipant: units) { unit, participant in body(unit, scratch + participant * scratchCount) }
    }

    private static func run(chunksWithParticipant chunks: Int, _ body: (Int, Int) -> Void) {
        pool.run(chunks: chunks, body)
    }
}
