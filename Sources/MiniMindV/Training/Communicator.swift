import Foundation

/// The seam between training and a collective-communication engine: the ranks of one data-parallel
/// job and the few collectives data parallelism needs. `SingleProcessCommunicator` is the one-rank
/// case (every call is the identity); `MPICommunicator` (target MiniMindVMPI) runs on Open MPI. Another
/// engine (Gloo, NCCL on GPUs) plugs in by conforming. Every rank must make the same calls in the
/// same order with the same counts, as with MPI's collectives.
public protocol Communicator: AnyObject {
    /// This process's rank, 0 ..< size. Rank 0 writes files and reports progress.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces every element of `buffer` with its sum over all ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Starts replacing `buffer` with its sum over all ranks and returns at once (MPI_Iallreduce).
    /// `buffer` must stay allocated and untouched until `wait`, or a `test` that returns true, for
    /// the request. Requests are collectives: every rank starts the same ones in the same order.
    /// The default sums at once (blocking) and returns a completed request: an engine without
    /// non-blocking collectives still fits, it just does not overlap.
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> AllreduceRequest
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> AllreduceRequest
    /// Lets the engine move outstanding requests forward (Open MPI progresses only inside its calls);
    /// true when `request` has completed, after which it is not tested or waited for again.
    func test(_ request: AllreduceRequest) throws -> Bool
    /// Blocks until `request` has completed.
    func wait(_ request: AllreduceRequest) throws
    /// In place: rank r's piece of `buffer` — `counts[r]` elements right after the pieces of ranks
    /// 0 ..< r — is copied into the same place on every other rank (MPI_Allgatherv with MPI_IN_PLACE).
    /// `counts` has one entry per rank, the same on every rank, and adds up to `buffer.count`. The
    /// default zeroes the other ranks' pieces and sums (exact, but a -0 sent becomes +0).
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws
    /// Copies `buffer` of rank `root` into `buffer` of every other rank (same byte count on all).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    func barrier() throws
    /// Ends the whole job at once with `code` (a rank that cannot go on must not leave the others
    /// waiting in a collective). Does not return.
    func abort(code: Int32) -> Never
}

public extension Communicator {
    var isRoot: Bool { rank == 0 }

    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> AllreduceRequest {
        try allreduceSum(buffer)
        return .completed
    }
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> AllreduceRequest {
        try allreduceSum(buffer)
        return .completed
    }
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        precondition(counts.count == size && counts.reduce(0, +) == buffer.count, "allgather: counts \(counts) for \(buffer.count) elements and \(size) ranks")
        guard size > 1 else { return }
        let mine = counts[..<rank].reduce(0, +)..<counts[...rank].reduce(0, +)
        for i in buffer.indices where !mine.contains(i) { buffer[i] = 0 }
        try allreduceSum(buffer)
    }
    func test(_ request: AllreduceRequest) throws -> Bool { true }
    func wait(_ request: AllreduceRequest) throws {}
}

/// A non-blocking allreduce in flight: an engine-defined number (`Communicator.startAllreduceSum`).
public struct AllreduceRequest: Hashable, Sendable {
    public let id: Int
    public init(id: Int) { self.id = id }
    /// A request that was done when it was returned (blocking engines, one rank).
    public static let completed = AllreduceRequest(id: -1)
}

/// One process: sums and broadcasts leave the buffers as they are.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func barrier() throws {}
    public func abort(code: Int32) -> Never { exit(code) }
}

/// A collective that failed, or ranks that disagree about what they hold.
public enum CommunicatorError: Error, CustomStringConvertible, Equatable {
    /// The engine reported an error in `operation`.
    case failed(operation: String, reason: String)
    /// After the broadcast from rank 0 (or at a checkpoint) some rank's trained weights differ.
    case replicasDiffer(String)

    public var description: String {
        switch self {
        case .failed(let operation, let reason): return "\(operation) failed across the ranks: \(reason)"
        case .replicasDiffer(let what): return "the ranks' copies of the model differ: \(what)"
        }
    }
}
