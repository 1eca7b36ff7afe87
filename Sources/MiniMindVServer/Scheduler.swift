import Foundation
import MiniMindV

/// What a request's stream receives from the scheduler. (Nothing marks the end of a prompt's prefill:
/// every update wakes the request's handler, and the first token follows in the same moment.)
enum GenerationUpdate: Sendable {
    case text(String)
    case finished(GenerationResult)
    case failed(String)
}

/// Runs every request through one `ContinuousBatch` on a thread of its own: the model's work is
/// long, blocking compute that must not occupy Swift's cooperative threads (the HTTP side runs
/// there). Requests arrive through a locked inbox and join the batch at the next step; a request
/// whose stream is dropped (the client left) is removed before the next step, freeing its slot.
/// At most `capacity + maxQueue` requests are admitted; more are refused (HTTP 429).
///
/// A burst into an idle batch is gathered: the first step waits, at most `gatherSeconds`, until no
/// request is announced (`announce`: its connection was accepted or its handler runs, and it is not
/// yet queued) and none was for `quietSeconds`, so that the burst's prompts are prefilled by one
/// forward (one pass over the weights, one product over all their rows) instead of the first alone
/// and the rest a whole step later. A lone request waits out the rest of that pause after its own
/// announcement (the rest of a burst is often a fraction of a millisecond behind it); nothing is
/// waited for while streams are decoding (their next token would wait). After a step that gave
/// streamed requests their first token, the next step waits (at most `firstWriteSeconds`) until
/// their handlers have written it (Docs/Serving.md, "The first token before the next step").
final class Scheduler: @unchecked Sendable {
    struct QueueFull: Error {}

    private struct Job {
        let id: Int
        let ids: [Int]
        let images: [PromptImage]
        let options: SamplingOptions
        /// Its tokens are written to the client as they come (SSE): the step after its first token
        /// waits for that write (`firstWriteSeconds`).
        let streamed: Bool
        let continuation: AsyncStream<GenerationUpdate>.Continuation
    }

    let capacity: Int
    let maxQueue: Int
    let metrics: ServerMetrics
    /// Longest wait of an idle batch for a burst's requests, and the pause in announcements that
    /// ends it (see the type's comment).
    let gatherSeconds: Double, quietSeconds: Double
    /// Longest wait, after a step that handed streams their first token, for those tokens to be
    /// written to their clients before the next step takes the cores (see `awaitFirstWrites`).
    let firstWriteSeconds: Double
    private let batch: ContinuousBatch  // touched only by the worker thread after init
    private let condition = NSCondition()
    private var inbox: [Job] = []
    private var cancelled: Set<Int> = []
    private var admitted = 0
    /// Requests between `announce` and `settle` (being read or tokenised by the HTTP side).
    private var announced = 0
    private var lastAnnounce = -Double.infinity
    /// Accepted connections counted in `announced` (no request read from them yet).
    private var connections: Set<ObjectIdentifier> = []
    /// Streamed jobs whose first token was handed out and is not yet written to the client.
    private var unwritten: Set<Int> = []
    private var stepsRun = 0
    private var nextJob = 0
    private var stopping = false
    private var running = false
    private var finishedWorker = false
    // Worker-thread state.
    private var jobs: [ContinuousBatch.Slot: Job] = [:]
    private var slotOfJob: [Int: ContinuousBatch.Slot] = [:]
    /// Streamed jobs that have been handed their first token.
    private var begun: Set<Int> = []

    init(batch: ContinuousBatch, maxQueue: Int, metrics: ServerMetrics, gatherSeconds: Double = 0.005, quietSeconds: Double = 0.001,
         firstWriteSeconds: Double = 0.002) {
        self.batch = batch
        capacity = batch.capacity
        self.maxQueue = maxQueue
        self.metrics = metrics
        self.gatherSeconds = gatherSeconds
        self.quietSeconds = min(quietSeconds, gatherSeconds)
        self.firstWriteSeconds = firstWriteSeconds
    }

    /// Checks a prompt as the batch will (throws GenerationError); safe from any thread.
    func check(ids: [Int], images: [PromptImage], options: SamplingOptions) throws {
        try batch.check(ids: ids, images: images, options: options)
    }

    var contextLength: Int { batch.contextLength }

    /// The shared feature cache (read it only while no request runs: the worker thread owns it).
    var imageFeatures: ImageFeatureCache { batch.imageFeatures }

    /// Requests admitted and not yet finished (running or queued).
    var load: Int { condition.lock(); defer { condition.unlock() }; return admitted }

    /// Scheduler steps run so far.
    var steps: Int { condition.lock(); defer { condition.unlock() }; return stepsRun }

    /// Requests announced and not yet settled.
    var arriving: Int { condition.lock(); defer { condition.unlock() }; return announced }

    /// A request is on its way (its connection was accepted, or its handler runs): an idle batch
    /// may wait for it. Every `announce` is followed by one `settle`, or by a `submit` that says so.
    func announce() {
        condition.lock()
        announced += 1
        lastAnnounce = monotonicSeconds()
        condition.unlock()
    }

    func settle() {
        condition.lock()
        announced -= 1
        condition.signal()
        condition.unlock()
    }

    /// `announce` for a connection just accepted (`ArrivalWatch`): counted once until its
    /// `settle(connection:)` (a second one changes nothing).
    func announce(connection: ObjectIdentifier) {
        condition.lock()
        if connections.insert(connection).inserted {
            announced += 1
            lastAnnounce = monotonicSeconds()
        }
        condition.unlock()
    }

    func settle(connection: ObjectIdentifier) {
        condition.lock()
        if connections.remove(connection) != nil {
            announced -= 1
            condition.signal()
        }
        condition.unlock()
    }

    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !running else { return }
        running = true
        let thread = Thread { [self] in work() }
        thread.name = "minimind-v scheduler"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// A queued request: its updates, and how to withdraw it (the client left).
    struct Submission: Sendable {
        let updates: AsyncStream<GenerationUpdate>
        let id: Int
        let cancel: @Sendable () -> Void
        /// A streamed request's first token is written to its client (the scheduler may go on).
        let firstTokenWritten: @Sendable () -> Void
    }

    /// Queues a request; its updates arrive on the returned stream. Cancelling the task that
    /// iterates it, or calling `cancel`, removes it from the batch before the next step.
    /// `announced`: the request was counted by `announce`; it is settled here, with the queueing.
    /// `streamed`: the request's tokens are written as they come, and it calls `firstTokenWritten`.
    func submit(ids: [Int], images: [PromptImage], options: SamplingOptions, streamed: Bool = false,
                announced wasAnnounced: Bool = false) throws -> Submission {
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationUpdate.self)
        condition.lock()
        defer { condition.unlock() }
        if wasAnnounced {
            announced -= 1
            condition.signal()
        }
        guard !stopping, admitted < capacity + maxQueue else { throw QueueFull() }
        admitted += 1
        let id = nextJob
        nextJob += 1
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(id) }
        }
        inbox.append(Job(id: id, ids: ids, images: images, options: options, streamed: streamed, continuation: continuation))
        metrics.queued(admitted)
        condition.signal()
        return Submission(updates: stream, id: id, cancel: { [weak self] in self?.cancel(id) },
                          firstTokenWritten: { [weak self] in self?.written(id) })
    }

    private func cancel(_ id: Int) {
        condition.lock()
        cancelled.insert(id)
        unwritten.remove(id)
        condition.signal()
        condition.unlock()
    }

    private func written(_ id: Int) {
        condition.lock()
        if unwritten.remove(id) != nil && unwritten.isEmpty { condition.signal() }
        condition.unlock()
    }

    /// Lets the admitted requests finish, refuses new ones, and waits for the worker to end.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        if running { while !finishedWorker { condition.wait() } }
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while inbox.isEmpty && cancelled.isEmpty && batch.count == 0 && !stopping { condition.wait() }
            if batch.count == 0 && !inbox.isEmpty && !stopping { gather() }  // may add requests to the batch
            if stopping && inbox.isEmpty && batch.count == 0 {
                finishedWorker = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let arrivals = takeInbox(), gone = cancelled
            cancelled.removeAll()
            condition.unlock()

            admit(arrivals)
            for id in gone {
                guard let slot = slotOfJob[id] else { continue }  // already finished
                batch.remove(slot)
                end(slot)
                metrics.disconnected()
            }
            guard batch.count > 0 else { continue }
            let start = monotonicSeconds()
            let events = batch.step()
            ServeTrace.mark("step end active=\(batch.activeCount)")
            metrics.step(batchSize: batch.activeCount, seconds: monotonicSeconds() - start)
            condition.lock()
            stepsRun += 1
            condition.unlock()
            for event in events { deliver(event) }
            awaitFirstWrites()
        }
    }

    /// The queued requests, taken out of the inbox (called with the lock held).
    private func takeInbox() -> [Job] {
        let arrivals = inbox
        inbox.removeAll()
        if !arrivals.isEmpty { ServeTrace.mark("take jobs=\(arrivals.map(\.id))") }
        return arrivals
    }

    /// Adds queued requests to the batch (a prompt it refuses fails its request at once).
    private func admit(_ arrivals: [Job]) {
        for job in arrivals {
            do {
                let slot = try batch.add(ids: job.ids, images: job.images, options: job.options)
                jobs[slot] = job
                slotOfJob[job.id] = slot
            } catch {
                job.continuation.yield(.failed("\(error)"))
                job.continuation.finish()
                release()
            }
        }
    }

    /// After a step that handed streams their first token: waits, at most `firstWriteSeconds`, until
    /// their handlers have written it. The next step would keep both cores busy for its whole
    /// forward, and the HTTP side (and a client on the same machine) would wait for a time slice:
    /// the first token would reach the client a scheduler slice late, not when it was drawn.
    private func awaitFirstWrites() {
        condition.lock()
        defer { condition.unlock() }
        guard !unwritten.isEmpty else { return }
        let end = monotonicSeconds() + firstWriteSeconds
        while !unwritten.isEmpty && !stopping {
            let now = monotonicSeconds()
            guard now < end else { break }
            _ = condition.wait(until: Date(timeIntervalSinceNow: end - now))
        }
        ServeTrace.mark("first writes awaited unwritten=\(unwritten.count)")
        unwritten.removeAll()
    }

    /// Requests queued into an idle batch (called with the lock held): waits, at most `gatherSeconds`,
    /// until no request is announced and none was for `quietSeconds` (the burst's last connections
    /// may still be opening; a lone request waits out the rest of that pause after its own arrival).
    /// Meanwhile the requests already queued are added to the batch and their prefill is prepared
    /// (`ContinuousBatch.prepareNext`: embeddings, KV caches, prefix copies), work the first step
    /// would otherwise do after the wait.
    private func gather() {
        let end = monotonicSeconds() + gatherSeconds
        while !stopping {
            if !inbox.isEmpty {
                let arrivals = takeInbox()
                condition.unlock()
                admit(arrivals)
                batch.prepareNext()
                ServeTrace.mark("prepared")
                condition.lock()
                continue
            }
            let until = min(end, announced > 0 ? end : lastAnnounce + quietSeconds), now = monotonicSeconds()
            guard now < until else { return }
            _ = condition.wait(until: Date(timeIntervalSinceNow: until - now))
        }
    }

    private func deliver(_ event: ContinuousBatch.Event) {
        switch event {
        case .started: break
        case let .token(slot, id, text):
            if id != nil { metrics.generated() }
            if !text.isEmpty, let job = jobs[slot] {
                if job.streamed && begun.insert(job.id).inserted {
                    condition.lock()
                    unwritten.insert(job.id)
                    condition.unlock()
                    ServeTrace.mark("first handed job=\(job.id)")
                }
                job.continuation.yield(.text(text))
            }
        case let .finished(slot, result):
            metrics.cachedPrompt(result.stats.cachedPromptTokens)
            jobs[slot]?.continuation.yield(.finished(result))
            jobs[slot]?.continuation.finish()
            end(slot)
        case let .failed(slot, error):
            jobs[slot]?.continuation.yield(.failed("\(error)"))
            jobs[slot]?.continuation.finish()
            end(slot)
        }
    }

    private func end(_ slot: ContinuousBatch.Slot) {
        guard let job = jobs.removeValue(forKey: slot) else { return }
        slotOfJob[job.id] = nil
        begun.remove(job.id)
        release()
    }

    private func release() {
        condition.lock()
        admitted -= 1
        metrics.queued(admitted)
        condition.unlock()
    }

    /// Sequences in the batch and KV-cache bytes, read on the worker thread's last step (approximate).
    var snapshot: (active: Int, waiting: Int) {
        condition.lock(); defer { condition.unlock() }
        return (min(admitted, capacity), max(admitted - capacity, 0))
    }
}
