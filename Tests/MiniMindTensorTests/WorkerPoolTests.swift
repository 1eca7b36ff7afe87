import Foundation
import XCTest
import TestSupport
@testable import MiniMindTensor

/// The compute thread pool (`WorkerPool` behind `Threads`) and the split BLAS calls built on it.
final class WorkerPoolTests: XCTestCase {
    private var previousThreads = 1

    override func setUp() {
        super.setUp()
        previousThreads = Threads.count
    }

    override func tearDown() {
        Threads.set(previousThreads)
        super.tearDown()
    }

    /// Runs `jobs` pool jobs of varied sizes and checks each chunk ran exactly once, and that the
    /// workers (not only the calling thread) ran some of them.
    private func assertEveryChunkRunsOnce(jobs: Int, file: StaticString = #filePath, line: UInt = #line) {
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        let offCaller = UnsafeMutablePointer<Bool>.allocate(capacity: 64)
        defer { counts.deallocate(); offCaller.deallocate() }
        let caller = pthread_self()
        var chunksOnWorkers = 0
        for job in 0..<jobs {
            let chunks = 1 + job % 64
            counts.initialize(repeating: 0, count: 64)
            offCaller.initialize(repeating: false, count: 64)
            Threads.run(chunks: chunks) { c in  // distinct chunks never share a slot
                counts[c] += 1
                offCaller[c] = pthread_equal(pthread_self(), caller) == 0
            }
            for c in 0..<64 where counts[c] != (c < chunks ? 1 : 0) {
                XCTFail("job \(job): chunk \(c) of \(chunks) ran \(counts[c]) times", file: file, line: line)
                return
            }
            chunksOnWorkers += (0..<chunks).filter { offCaller[$0] }.count
        }
        XCTAssertGreaterThan(chunksOnWorkers, 0, "the workers never ran a chunk", file: file, line: line)
    }

    func testEveryChunkRunsExactlyOnceForTwoAndThreeThreads() {
        for threads in [2, 3] {
            Threads.set(threads)
            assertEveryChunkRunsOnce(jobs: 20_000)
        }
    }

    /// Whether a worker ran any of 8 chunks of 2 ms each (16 ms for the caller alone: long enough
    /// that a worker that is awake, or being woken, takes some).
    private func workersTakePartInSlowChunks() -> Bool {
        let caller = pthread_self()
        let offCaller = UnsafeMutablePointer<Bool>.allocate(capacity: 8)
        defer { offCaller.deallocate() }
        offCaller.initialize(repeating: false, count: 8)
        Threads.run(chunks: 8) { c in
            usleep(2_000)
            offCaller[c] = pthread_equal(pthread_self(), caller) == 0
        }
        return (0..<8).contains { offCaller[$0] }
    }

    func testAJobAfterTheWorkersFellAsleepWakesThem() {
        Threads.set(2)
        XCTAssertTrue(workersTakePartInSlowChunks(), "a new worker took no chunk")
        Thread.sleep(forTimeInterval: 0.01)  // well past the workers' spin time: they sleep now
        XCTAssertTrue(workersTakePartInSlowChunks(), "the sleeping worker was not woken")
        assertEveryChunkRunsOnce(jobs: 20_000)
    }

    func testNestedCallsRunInlineAndComplete() {
        Threads.set(2)
        var sums = [Int](repeating: 0, count: 8)
        sums.withUnsafeMutableBufferPointer { out in
            Threads.run(chunks: 8) { c in
                var s = 0
                Threads.parallelFor(10_000, minChunk: 10) { r in for i in r { s += i } }  // inline: no race on s
                out[c] = s
            }
        }
        XCTAssertEqual(sums, [Int](repeating: 49_995_000, count: 8))
    }

    func testCallersOnTwoThreadsAtOnceBothComplete() {
        Threads.set(2)
        let totals = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        defer { totals.deallocate() }
        totals.initialize(repeating: 0, count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for _ in 0..<500 {
                let parts = UnsafeMutablePointer<Int>.allocate(capacity: 16)
                parts.initialize(repeating: 0, count: 16)
                Threads.run(chunks: 16) { c in parts[c] = c }
                totals[caller] += (0..<16).reduce(0) { $0 + parts[$1] }
                parts.deallocate()
            }
        }
        XCTAssertEqual(totals[0], 500 * 120)
        XCTAssertEqual(totals[1], 500 * 120)
    }

    // MARK: split BLAS

    /// C = alpha·op(A)·op(B) + beta·C in Double, from the row-major storage the CBLAS call sees.
    private func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float],
                           beta: Float, c: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * m + i] : a[i * k + p]
                    let y = transB ? b[j * k + p] : b[p * n + j]
                    s += Double(x) * Double(y)
                }
                out[i * n + j] = Double(alpha) * s + Double(beta) * Double(c[i * n + j])
            }
        }
        return out
    }

    func testSplitGEMMAndGEMVEqualTheDefinitionForEveryLayout() {
        var g = SeededGenerator(seed: 7)
        // Shapes that split by rows (m > n), by columns, unevenly, the one-row GEMV paths and the
        // few-row kernel (SkinnyGEMM: blocks of 4 rows with a remainder, odd n, depth not a multiple of 8).
        let shapes = [(m: 200, n: 72, k: 96), (m: 40, n: 260, k: 64), (m: 1, n: 1000, k: 300), (m: 515, n: 33, k: 17),
                      (m: 7, n: 301, k: 97), (m: 8, n: 130, k: 200), (m: 3, n: 600, k: 80), (m: 5, n: 402, k: 131)]
        for threads in [2, 3] {
            Threads.set(threads)
            for (m, n, k) in shapes {
                XCTAssertGreaterThan(BLAS.splitParts(m: m, n: n, k: k), 1, "\(m)×\(n)×\(k) must exercise the split")
                for transA in [false, true] {
                    for transB in [false, true] {
                        for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(1))] {
                            let a = (0..<(m * k)).map { _ in g.nextUniform() - 0.5 }
                            let b = (0..<(k * n)).map { _ in g.nextUniform() - 0.5 }
                            var c = (0..<(m * n)).map { _ in g.nextUniform() - 0.5 }
                            let expected = reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                                     a: a, b: b, beta: beta, c: c)
                            c.withUnsafeMutableBufferPointer { cp in
                                BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b,
                                          beta: beta, c: cp.baseAddress!)
                            }
                            let worst = worstDifference(c, expected)
                            XCTAssertLessThan(worst, 1e-4, "threads \(threads) \(m)×\(n)×\(k) transA \(transA) transB \(transB) beta \(beta)")
                        }
                    }
                }
            }
        }
    }
}

/// How `BLAS.gemm` cuts a product between threads: whole 16-wide tiles, no block more than one tile
/// larger than another (an image encoding's 197 rows were 112 + 85 when each block was rounded up).
final class BLASPartBoundsTests: XCTestCase {
    func testBlocksCoverTheExtentInTilesAndStayWithinOneTile() {
        XCTAssertEqual(BLAS.partBounds(extent: 197, parts: 2), [0, 96, 197])
        XCTAssertEqual(BLAS.partBounds(extent: 512, parts: 2), [0, 256, 512])
        XCTAssertEqual(BLAS.partBounds(extent: 216, parts: 2), [0, 112, 216])
        for extent in 32...700 {
            for parts in 2...min(8, extent / 16) {
                let b = BLAS.partBounds(extent: extent, parts: parts)
                XCTAssertEqual(b.count, parts + 1)
                XCTAssertEqual(b.first, 0)
                XCTAssertEqual(b.last, extent)
                let sizes = (0..<parts).map { b[$0 + 1] - b[$0] }
                XCTAssertTrue(b.dropLast().allSatisfy { $0 % 16 == 0 }, "\(extent)/\(parts): \(b)")
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 16, "\(extent)/\(parts): \(b)")
            }
        }
    }
}
