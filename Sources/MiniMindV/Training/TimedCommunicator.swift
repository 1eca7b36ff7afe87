import Foundation

/// A communicator that adds up the wall time and bytes of the allreduces it passes to `base`: what
/// the CLI reports after a data-parallel run (time per step, bandwidth). The time is what the
/// calling thread spends inside the engine — blocking allreduces, and for non-blocking ones the
/// start, the progress polls during the backward pass and the final wait — so it is the
/// allreduce's share of the critical path; `waitSeconds` is the part spent in `wait` (after the
/// backward pass, nothing left to overlap with). It includes waiting for the slowest rank.
public final class TimedCommunicator: Communicator {
    public let base: any Communicator
    public private(set) var allreduceSeconds = 0.0
    public private(set) var allreduceBytes = 0
    public private(set) var allreduceCalls = 0
    /// Of `allreduceSeconds`: the time blocked in `wait` for non-blocking requests (mostly after the backward pass).
    public private(set) var waitSeconds = 0.0
    /// Time and bytes of the all-gathers (the sharded optimizer step's updated weights, and moments at a save).
    public private(set) var allgatherSeconds = 0.0
    public private(set) var allgatherBytes = 0

    public init(_ base: any Communicator) { self.base = base }

    public var rank: Int { base.rank }
    public var size: Int { base.size }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try timed(buffer.count * MemoryLayout<Float>.size) { try base.allreduceSum(buffer) }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try timed(buffer.count * MemoryLayout<Double>.size) { try base.allreduceSum(buffer) }
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> AllreduceRequest {
        var request = AllreduceRequest.completed
        try timed(buffer.count * MemoryLayout<Float>.size) { request = try base.startAllreduceSum(buffer) }
        return request
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> AllreduceRequest {
        var request = AllreduceRequest.completed
        try timed(buffer.count * MemoryLayout<Double>.size) { request = try base.startAllreduceSum(buffer) }
        return request
    }

    public func test(_ request: AllreduceRequest) throws -> Bool {
        let start = monotonicSeconds()
        defer { allreduceSeconds += monotonicSeconds() - start }
        return try base.test(request)
    }

    public func wait(_ request: AllreduceRequest) throws {
        let start = monotonicSeconds()
        defer {
            let spent = monotonicSeconds() - start
            allreduceSeconds += spent
            waitSeconds += spent
        }
        try base.wait(request)
    }

    /// Timed apart from the allreduces: the updated weights' all-gather of a sharded optimizer step.
    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        let start = monotonicSeconds()
        try base.allgather(buffer, counts: counts)
        allgatherSeconds += monotonicSeconds() - start
        allgatherBytes += buffer.count * MemoryLayout<Float>.size
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws { try base.broadcast(buffer, root: root) }
    public func barrier() throws { try base.barrier() }
    public func abort(code: Int32) -> Never { base.abort(code: code) }

    /// Algorithm bandwidth: bytes reduced per second of allreduce (0 before any).
    public var bytesPerSecond: Double { allreduceSeconds > 0 ? Double(allreduceBytes) / allreduceSeconds : 0 }

    private func timed(_ bytes: Int, _ body: () throws -> Void) throws {
        let start = monotonicSeconds()
        try body()
        allreduceSeconds += monotonicSeconds() - start
        allreduceBytes += bytes
        allreduceCalls += 1
    }
}
