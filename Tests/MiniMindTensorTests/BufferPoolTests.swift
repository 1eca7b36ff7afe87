import XCTest
@testable import MiniMindTensor

/// The large-buffer pool behind TensorStorage: reuse, no aliasing, zeroing, capacity and trim.
final class BufferPoolTests: XCTestCase {
    /// An element count well above the pool threshold, in a size class no other test uses.
    let large = (BufferPool.minimumBytes * 3 + 12_345) / MemoryLayout<Float>.stride

    override func tearDown() {
        BufferPool.trim()
        super.tearDown()
    }

    func testSizeClassesHaveAtMostAQuarterSlack() {
        XCTAssertNil(BufferPool.sizeClass(BufferPool.minimumBytes - 1))
        for bytes in [BufferPool.minimumBytes, 1_500_000, 3_000_001, 58_000_000, 262_144_000] {
            guard let c = BufferPool.sizeClass(bytes) else { XCTFail("no class for \(bytes)"); continue }
            XCTAssertGreaterThanOrEqual(c, bytes)
            XCTAssertLessThanOrEqual(Double(c), Double(bytes) * 1.25)
            XCTAssertEqual(c % 64, 0, "classes keep 64-byte alignment of sizes")
        }
    }

    func testAFreedLargeBufferIsReusedAndSmallOnesAreNotPooled() {
        BufferPool.trim()
        var first: Tensor? = Tensor.uninitialized([large])
        let address = first?.storage.pointer
        first = nil
        XCTAssertGreaterThan(BufferPool.statistics.pooledBytes, 0)
        let before = BufferPool.statistics
        let second = Tensor.uninitialized([large])
        XCTAssertEqual(BufferPool.statistics.reuses, before.reuses + 1)
        XCTAssertEqual(second.storage.pointer, address, "the freed buffer is handed out again")
        XCTAssertEqual(Int(bitPattern: second.storage.pointer) % 64, 0)

        let pooled = BufferPool.statistics.pooledBytes
        _ = Tensor.uninitialized([1000])   // small: malloc, never pooled
        XCTAssertEqual(BufferPool.statistics.pooledBytes, pooled)
    }

    func testABufferIsNeverHandedOutWhileATensorHoldsIt() {
        BufferPool.trim()
        let a = Tensor.uninitialized([large])
        // Views (reshape, detached) keep the storage alive too.
        var view: Tensor? = a.detached()
        let b = Tensor.uninitialized([large])
        XCTAssertNotEqual(a.storage.pointer, b.storage.pointer)
        view = nil
        XCTAssertNil(view)
        let c = Tensor.uninitialized([large])
        XCTAssertNotEqual(c.storage.pointer, a.storage.pointer)
        XCTAssertNotEqual(c.storage.pointer, b.storage.pointer)
        a.mutablePointer[0] = 1; b.mutablePointer[0] = 2; c.mutablePointer[0] = 3
        XCTAssertEqual([a.pointer[0], b.pointer[0], c.pointer[0]], [1, 2, 3])
    }

    func testZerosAreZeroEvenInAReusedBuffer() {
        BufferPool.trim()
        var dirty: Tensor? = Tensor.full([large], value: 7)
        let address = dirty?.storage.pointer
        dirty = nil
        let z = Tensor.zeros([large])
        XCTAssertEqual(z.storage.pointer, address, "the dirty buffer was reused")
        XCTAssertTrue(z.buffer.allSatisfy { $0 == 0 })
    }

    func testAFullPoolFreesInsteadAndTrimEmptiesIt() {
        BufferPool.trim()
        let saved = BufferPool.capacityBytes
        defer { BufferPool.capacityBytes = saved }
        let size = BufferPool.sizeClass(large * MemoryLayout<Float>.stride) ?? 0
        BufferPool.capacityBytes = size   // room for one buffer
        var a: Tensor? = Tensor.uninitialized([large]), b: Tensor? = Tensor.uninitialized([large])
        XCTAssertNotEqual(a?.storage.pointer, b?.storage.pointer, "two live tensors never share a buffer")
        a = nil; b = nil
        XCTAssertEqual(BufferPool.statistics.pooledBytes, size)
        BufferPool.capacityBytes = 0      // lowering the cap trims
        XCTAssertEqual(BufferPool.statistics.pooledBytes, 0)
        BufferPool.capacityBytes = saved
        _ = Tensor.uninitialized([large])
        XCTAssertEqual(BufferPool.statistics.pooledBytes, size)
        BufferPool.trim()
        XCTAssertEqual(BufferPool.statistics.pooledBytes, 0)
    }

    func testConcurrentAllocationNeverSharesABuffer() {
        BufferPool.trim()
        let n = large
        let clashes = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { id in
            // Each round holds a few buffers stamped with this iteration's id while other
            // iterations allocate and free: a shared buffer would show another id.
            for round in 0..<6 {
                let held = (0..<3).map { _ in Tensor.uninitialized([n]) }
                let stamp = Float(id * 100 + round)
                for t in held { t.mutablePointer[0] = stamp; t.mutablePointer[n - 1] = stamp }
                usleep(200)
                for t in held where t.pointer[0] != stamp || t.pointer[n - 1] != stamp { clashes.withLock { $0 += 1 } }
            }
        }
        XCTAssertEqual(clashes.withLock { $0 }, 0)
    }
}
