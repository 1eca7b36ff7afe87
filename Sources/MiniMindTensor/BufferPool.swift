import Foundation

/// Keeps large freed tensor buffers for reuse. A training step allocates the same large activations
/// and gradients every time; served fresh, each one is a new `mmap` whose pages the kernel zeroes on
/// first touch and unmaps again on free (seconds of system time per step at 16 × 640 tokens).
///
/// Buffers of at least `minimumBytes` are rounded up to a size class (four per power of two, at most
/// 25 % slack). A buffer returns here only from `TensorStorage.deinit`, i.e. when no tensor holds it
/// any more, so a pooled buffer is never handed out twice. The pool keeps at most `capacityBytes`;
/// `trim()` gives everything back to the system (e.g. after training, before inference).
public enum BufferPool {
    /// Smaller buffers go straight to malloc, which already recycles them from its heap.
    public static let minimumBytes = 1 << 20

    /// Counters since the start of the process (tests and benchmarks read them).
    public struct Statistics: Sendable, Equatable {
        /// Large buffers served from the pool.
        public var reuses: Int
        /// Large buffers that had to be allocated.
        public var allocations: Int
        /// Bytes currently kept for reuse.
        public var pooledBytes: Int
    }

    /// Most bytes kept for reuse (default: a quarter of the physical memory). Lowering it trims.
    public static var capacityBytes: Int {
        get { state.withLock { $0.capacity } }
        set { state.withLock { $0.capacity = max(0, newValue); $0.shrink(to: $0.capacity) } }
    }

    public static var statistics: Statistics {
        state.withLock { Statistics(reuses: $0.reuses, allocations: $0.allocations, pooledBytes: $0.pooledBytes) }
    }

    /// Frees every pooled buffer.
    public static func trim() { state.withLock { $0.shrink(to: 0) } }

    /// The bytes actually allocated for a request (its size class); nil below `minimumBytes`.
    static func sizeClass(_ bytes: Int) -> Int? {
        guard bytes >= minimumBytes else { return nil }
        let quarter = (1 << (Int.bitWidth - 1 - bytes.leadingZeroBitCount)) / 4
        return (bytes + quarter - 1) / quarter * quarter
    }

    /// A 64-byte aligned buffer of `size` bytes (a size class): a pooled one when available. A pooled
    /// buffer up to twice the size also serves, so batches of varying length keep finding buffers.
    static func take(_ size: Int) -> (UnsafeMutableRawPointer, Int)? {
        if let hit = state.withLock({ $0.takeBestFit(size) }) { return hit }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let base = raw else { return nil }
        state.withLock { $0.allocations += 1 }
        return (base, size)
    }

    /// Takes back a buffer of `size` bytes that no tensor holds any more (frees it when the pool is full).
    static func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        let kept = state.withLock { s -> Bool in
            guard s.pooledBytes + size <= s.capacity else { return false }
            s.free[size, default: []].append(pointer)
            s.pooledBytes += size
            return true
        }
        if !kept { Foundation.free(pointer) }
    }

    private static let state = Locked(State(capacity: Int(min(ProcessInfo.processInfo.physicalMemory / 4, UInt64(Int.max)))))

    private struct State {
        var capacity: Int
        var free: [Int: [UnsafeMutableRawPointer]] = [:]
        var pooledBytes = 0
        var reuses = 0
        var allocations = 0

        mutating func takeBestFit(_ size: Int) -> (UnsafeMutableRawPointer, Int)? {
            guard let fit = free.keys.filter({ $0 >= size && $0 <= 2 * size }).min(),
                  let p = free[fit]?.popLast() else { return nil }
            if free[fit]?.isEmpty == true { free[fit] = nil }
            pooledBytes -= fit
            reuses += 1
            return (p, fit)
        }

        /// Frees pooled buffers, largest first, until at most `limit` bytes are kept.
        mutating func shrink(to limit: Int) {
            for size in free.keys.sorted(by: >) where pooledBytes > limit {
                while pooledBytes > limit, let p = free[size]?.popLast() {
                    Foundation.free(p)
                    pooledBytes -= size
                }
                if free[size]?.isEmpty == true { free[size] = nil }
            }
        }
    }
}

/// A value behind a mutex (the pool is used from every thread that creates or drops tensors).
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
