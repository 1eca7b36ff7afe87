import Foundation

/// A communicator that adds up the wall time and bytes of the allreduces it passes to `base`: what
/// the CLI reports after a data-parallel run (time per step, bandwidth). The time includes waiting
/// for the slowest rank to arrive, so it is an upper bound on the transfer itself.
public final class TimedCommunicator: Communicator {
    public let base: any Communicator
    public private(set) var allreduceSeconds = 0.0
    public private(set) var allreduceBytes = 0
    public private(set) var allreduceCalls = 0

    public init(_ base: any Communicator) { self.base = base }

    public var rank: Int { base.rank }
    public var size: Int { base.size }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try timed(buffer.count * MemoryLayout<Float>.size) { try base.allreduceSum(buffer) }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try timed(buffer.count * MemoryLayout<Double>.size) { try base.allreduceSum(buffer) }
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
