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
    /// Copies `buffer` of rank `root` into `buffer` of every other rank (same byte count on all).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    func barrier() throws
    /// Ends the whole job at once with `code` (a rank that cannot go on must not leave the others
    /// waiting in a collective). Does not return.
    func abort(code: Int32) -> Never
}

public extension Communicator {
    var isRoot: Bool { rank == 0 }
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
