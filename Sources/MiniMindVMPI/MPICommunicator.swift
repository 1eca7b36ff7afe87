import CMPI
import Foundation
import MiniMindV

/// `Communicator` on Open MPI's MPI_COMM_WORLD: the ranks `mpirun -np N` started. Only this target
/// links MPI; the library stays free of it. Collectives run on the calling thread (the main one:
/// MPI is initialised with MPI_THREAD_FUNNELED); float buffers are summed with MPI_Allreduce in place,
/// or started with MPI_Iallreduce and driven by MPI_Test (Open MPI has no progress thread for them).
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Non-blocking allreduces in flight: the MPI requests of each (one per 2^30-element piece).
    private var requests: [Int: [MPI_Request?]] = [:]
    private var nextRequest = 0

    /// True when this process was started by Open MPI's launcher (mpirun / mpiexec / a PMIx
    /// scheduler): only then is MPI initialised, so a plain `minimind-v sft` never touches it.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// Initialises MPI (once per process). Failed calls return an error code instead of aborting
    /// inside the library, so the message can say which collective failed; a rank that exits
    /// without finalising (killed, crashed) makes mpirun end the whole job.
    public init() throws {
        if mmpi_initialized() == 0 {
            // Open MPI's non-blocking allreduce (libnbc) takes a binomial tree for fewer than 4
            // ranks or in-place buffers: the whole buffer goes to rank 0 and back, and rank 0 does
            // every sum. The ring sends and sums 1/N of it per rank. A user's setting wins.
            setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0)
            var provided: Int32 = 0
            let code = mmpi_init(&provided)
            guard code == mmpi_success() else { throw Self.error("MPI_Init_thread", code) }
        }
        _ = mmpi_errors_return()
        rank = Int(mmpi_rank())
        size = Int(mmpi_size())
    }

    /// Finalises MPI (every rank must call it, after its last collective).
    public func finalize() {
        if mmpi_finalized() == 0 { _ = mmpi_finalize() }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try chunks(buffer.count) { from, n in
            try check("MPI_Allreduce", mmpi_allreduce_sum_float(buffer.baseAddress! + from, Int32(n)))
        }
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try chunks(buffer.count) { from, n in
            try check("MPI_Allreduce", mmpi_allreduce_sum_double(buffer.baseAddress! + from, Int32(n)))
        }
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> AllreduceRequest {
        try start(buffer.count) { from, n, request in mmpi_iallreduce_sum_float(buffer.baseAddress! + from, n, request) }
    }

    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws -> AllreduceRequest {
        try start(buffer.count) { from, n, request in mmpi_iallreduce_sum_double(buffer.baseAddress! + from, n, request) }
    }

    /// One MPI_Iallreduce per 2^30-element piece, kept under one request number.
    private func start(_ count: Int, _ call: (Int, Int32, UnsafeMutablePointer<MPI_Request?>) -> Int32) throws -> AllreduceRequest {
        guard count > 0 else { return .completed }
        var pieces: [MPI_Request?] = []
        try chunks(count) { from, n in
            var request: MPI_Request? = mmpi_request_null()
            try check("MPI_Iallreduce", call(from, Int32(n), &request))
            pieces.append(request)
        }
        nextRequest += 1
        requests[nextRequest] = pieces
        return AllreduceRequest(id: nextRequest)
    }

    public func test(_ request: AllreduceRequest) throws -> Bool {
        guard var pieces = requests[request.id] else { return true }
        var done: Int32 = 1
        while done != 0, var first = pieces.first {
            try check("MPI_Test", mmpi_test(&first, &done))
            if done != 0 { pieces.removeFirst() } else { pieces[0] = first }
        }
        requests[request.id] = pieces.isEmpty ? nil : pieces
        return pieces.isEmpty
    }

    public func wait(_ request: AllreduceRequest) throws {
        guard let pieces = requests.removeValue(forKey: request.id) else { return }
        for var piece in pieces { try check("MPI_Wait", mmpi_wait(&piece)) }
    }

    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        precondition(counts.count == size && counts.reduce(0, +) == buffer.count, "allgather: counts \(counts) for \(buffer.count) elements and \(size) ranks")
        guard buffer.count > 0 else { return }
        // MPI counts and displacements are 32-bit (one tensor of ≥ 2^31 elements is far past any preset).
        guard buffer.count <= Int(Int32.max) else {
            throw CommunicatorError.failed(operation: "MPI_Allgatherv", reason: "\(buffer.count) elements exceed MPI's 32-bit counts")
        }
        var displacements: [Int32] = [], at = 0
        for n in counts { displacements.append(Int32(at)); at += n }
        let counts32 = counts.map { Int32($0) }
        try check("MPI_Allgatherv", mmpi_allgatherv_float(buffer.baseAddress!, counts32, displacements))
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        try chunks(buffer.count) { from, n in
            try check("MPI_Bcast", mmpi_bcast_bytes(buffer.baseAddress! + from, Int32(n), Int32(root)))
        }
    }

    public func barrier() throws { try check("MPI_Barrier", mmpi_barrier()) }

    public func abort(code: Int32) -> Never {
        _ = mmpi_abort(code)
        exit(code)  // MPI_Abort does not return; this is for the type checker
    }

    /// MPI counts are 32-bit: larger buffers go in pieces of 2^30 elements.
    private func chunks(_ count: Int, _ body: (Int, Int) throws -> Void) rethrows {
        var from = 0
        while from < count {
            let n = min(count - from, 1 << 30)
            try body(from, n)
            from += n
        }
    }

    private func check(_ operation: String, _ code: Int32) throws {
        guard code != mmpi_success() else { return }
        throw Self.error(operation, code)
    }

    private static func error(_ operation: String, _ code: Int32) -> CommunicatorError {
        var text = [CChar](repeating: 0, count: Int(mmpi_max_error_string()) + 1)
        let reason = mmpi_error_string(code, &text, Int32(text.count)) == mmpi_success()
            ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "MPI error \(code)"
        return .failed(operation: operation, reason: reason)
    }
}
