import CSpinWait
import Foundation
import Synchronization

/// The process's compute threads: the calling thread plus `count − 1` persistent workers, shared by
/// the BLAS calls (each part a single-threaded OpenBLAS call) and the Swift kernels. One pool instead
/// of OpenBLAS's own workers beside GCD's: OpenBLAS's idle worker spins in `sched_yield` for ~0.1 s
/// after every call, competing with our kernels' threads for the same two cores (Docs/Performance.md).
///
/// Work is split into numbered chunks that participants claim one at a time, so a worker that wakes
/// late leaves its chunks to the caller instead of making it wait. A worker spins briefly after a
/// job (decode issues jobs every few microseconds) and then sleeps on a semaphore.
/// A call made while the pool is busy (from inside a chunk, or from a second thread) runs inline.
final class WorkerPool: @unchecked Sendable {
    /// Threads that run chunks: the caller plus `workerCount` workers.
    let threads: Int
    var workerCount: Int { threads - 1 }

    /// The current job in one word, so a claim checks all of it at once: job number (bits 40–63),
    /// chunk count (bits 20–39), next unclaimed chunk (bits 0–19). (With the count in a separate
    /// variable, a worker could read the next job's count with the previous job's ticket and claim a
    /// chunk that did not exist.)
    private let ticket = Atomic<UInt64>(0)
    /// Jobs of more chunks than fit in the ticket run inline.
    static let maxChunks = (1 << 20) - 1

    private static func ticket(job: UInt64, chunks: Int) -> UInt64 { job << 40 | UInt64(chunks) << 20 }
    private static func jobNumber(_ ticket: UInt64) -> UInt64 { ticket >> 40 }
    private static func jobNumber(after ticket: UInt64) -> UInt64 { (jobNumber(ticket) &+ 1) & 0xFF_FFFF }  // wraps in 24 bits
    private static func chunkCount(_ ticket: UInt64) -> Int { Int(ticket >> 20 & 0xF_FFFF) }
    private static func nextChunk(_ ticket: UInt64) -> Int { Int(ticket & 0xF_FFFF) }

    private let jobBody = Atomic<UInt>(0)
    private let completed = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let slots: [Slot]
    private let exited = DispatchSemaphore(value: 0)

    /// How long an idle worker keeps polling for the next job before it sleeps: 0.3 ms, or not at
    /// all when there are more threads than cores (spinners would take the cores from the workers).
    let spinNanoseconds: UInt64

    private struct Job {
        let body: (_ chunk: Int, _ participant: Int) -> Void
    }

    /// A worker's sleep flag and the semaphore it sleeps on.
    private final class Slot: Sendable {
        let sleeping = Atomic<Bool>(false)
        let wakeup = DispatchSemaphore(value: 0)
    }

    init(threads: Int) {
        self.threads = max(1, threads)
        spinNanoseconds = threads <= ProcessInfo.processInfo.activeProcessorCount ? 300_000 : 0
        slots = (1..<self.threads).map { _ in Slot() }
        for w in 0..<workerCount {
            let thread = Thread { [unowned self] in self.workerLoop(w) }
            thread.name = "minimind-worker-\(w + 1)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops and joins the workers (they hold an unowned reference, so this must run before release).
    func shutdown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeAll()
        for _ in 0..<workerCount { exited.wait() }
    }

    /// Runs `body(chunk, participant)` for chunks 0..<chunks across the pool and returns when all
    /// are done. `participant` is 0 for the caller and 1...workerCount for the workers: at most one
    /// chunk runs at a time per participant, so it can index per-thread scratch memory.
    func run(chunks: Int, _ body: (_ chunk: Int, _ participant: Int) -> Void) {
        if chunks <= 0 { return }
        guard chunks > 1, chunks <= Self.maxChunks, workerCount > 0,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for c in 0..<chunks { body(c, 0) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { escaping in
            var job = Job(body: escaping)
            withUnsafeMutablePointer(to: &job) { jobPointer in
                jobBody.store(UInt(bitPattern: jobPointer), ordering: .relaxed)
                completed.store(0, ordering: .relaxed)
                let number = Self.jobNumber(after: ticket.load(ordering: .relaxed))
                ticket.store(Self.ticket(job: number, chunks: chunks), ordering: .sequentiallyConsistent)
                wakeAll()
                claimChunks(of: number, participant: 0)
                var spins = 0
                while completed.load(ordering: .acquiring) < chunks {
                    spins += 1
                    if spins < 1 << 16 { spin_pause() } else { sched_yield() }
                }
            }
        }
    }

    private func wakeAll() {
        for slot in slots where slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            slot.wakeup.signal()
        }
    }

    /// Claims and runs chunks of job `number` until none is left or a newer job replaced it.
    private func claimChunks(of number: UInt64, participant: Int) {
        while true {
            let t = ticket.load(ordering: .acquiring)
            guard Self.jobNumber(t) == number else { return }
            let index = Self.nextChunk(t), chunks = Self.chunkCount(t)
            // Read before the claim; a successful claim proves it belongs to job `number`.
            let bodyBits = jobBody.load(ordering: .relaxed)
            guard index < chunks else { return }
            guard ticket.compareExchange(expected: t, desired: t + 1, ordering: .acquiringAndReleasing).exchanged else {
                continue
            }
            // The caller cannot return before this chunk completes, so the job is still alive.
            UnsafePointer<Job>(bitPattern: bodyBits).map { $0.pointee.body(index, participant) }
            completed.add(1, ordering: .releasing)
        }
    }

    private func workerLoop(_ w: Int) {
        var seen: UInt64 = 0  // the pool starts at job 0: a job published before this thread ran is still new to it
        while !stopping.load(ordering: .relaxed) {
            let current = Self.jobNumber(ticket.load(ordering: .acquiring))
            if current != seen {
                seen = current
                claimChunks(of: current, participant: w + 1)
                continue
            }
            waitForJob(w, after: seen)
        }
        exited.signal()
    }

    /// Polls for a job newer than `seen` for `spinNanoseconds`, then sleeps until `wakeAll`.
    private func waitForJob(_ w: Int, after seen: UInt64) {
        let start = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while Self.jobNumber(ticket.load(ordering: .acquiring)) == seen && !stopping.load(ordering: .relaxed) {
            spin_pause()
            polls += 1
            if polls & 255 == 0 && DispatchTime.now().uptimeNanoseconds - start > spinNanoseconds { break }
        }
        if Self.jobNumber(ticket.load(ordering: .acquiring)) != seen { return }
        // Announce the sleep, then re-check: a job published in between either sees the flag (and
        // signals) or is seen here (and then the signal it may already have sent is consumed).
        let slot = slots[w]
        slot.sleeping.store(true, ordering: .sequentiallyConsistent)
        if Self.jobNumber(ticket.load(ordering: .sequentiallyConsistent)) != seen || stopping.load(ordering: .sequentiallyConsistent) {
            if !slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) { slot.wakeup.wait() }
            return
        }
        slot.wakeup.wait()
    }
}
