// How `minimind-v pretrain|sft` runs under `mpirun -np N` (Docs/Distributed.md): the ranks, who
// writes files, the default threads per rank, and ending the whole job when one rank fails.
import ArgumentParser
import Foundation
import MiniMindV
import MiniMindVMPI

enum DistributedTraining {
    /// Open MPI's communicator when started by mpirun (N ranks), else one process.
    static func communicator() throws -> any Communicator {
        MPICommunicator.launchedByMPI ? TimedCommunicator(try MPICommunicator()) : SingleProcessCommunicator()
    }

    /// Without --threads, the ranks on one machine share its cores instead of each taking all.
    static func defaultThreads(for c: any Communicator) -> Int? {
        guard c.size > 1 else { return nil }
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? c.size
        return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, local))
    }

    /// Runs `body`; with several ranks, an error on any rank ends the whole job (MPI_Abort) with
    /// the message on stderr, so no rank is left waiting in a collective. One rank: errors pass through.
    static func run(_ c: any Communicator, _ body: () throws -> Void) throws {
        guard c.size > 1 else { return try body() }
        do {
            try body()
            ((c as? TimedCommunicator)?.base as? MPICommunicator)?.finalize()
        } catch {
            FileHandle.standardError.write(Data("Error: rank \(c.rank) of \(c.size): \(error); ending the job (the last checkpoint in --out is intact)\n".utf8))
            c.abort(code: 1)
        }
    }
}

extension DistributedTraining {
    /// One line for rank 0's log: the allreduce share of the run (only with several ranks). Overlapped,
    /// the time is what the training thread spent inside MPI (starting, polling, waiting after the
    /// backward), not the transfer's duration, so no bandwidth is given.
    static func allreduceSummary(_ c: any Communicator, steps: Int, seconds: Double, overlapped: Bool) -> String? {
        guard c.size > 1, let t = c as? TimedCommunicator, steps > 0 else { return nil }
        let perStep = t.allreduceSeconds / Double(steps), share = 100 * t.allreduceSeconds / max(seconds, 1e-9)
        let megabytes = Double(t.allreduceBytes) / Double(steps) / 1e6
        // The sharded optimizer step's all-gather of the updated weights (and of the moments at saves).
        let gathered = t.allgatherBytes == 0 ? "" : String(format: "; all-gather of the sharded optimizer step: %.3f s per step, %.1f MB per step",
                                                          t.allgatherSeconds / Double(steps), Double(t.allgatherBytes) / Double(steps) / 1e6)
        if overlapped {
            return String(format: "allreduce: %.3f s per step in MPI over %d steps (%.1f %% of %.1f s), of it %.3f s blocked in waits; %.1f MB per step, overlapped with the backward pass",
                          perStep, steps, share, seconds, t.waitSeconds / Double(steps), megabytes) + gathered
        }
        return String(format: "allreduce: %.3f s per step over %d steps (%.1f %% of %.1f s), %.1f MB per step, %.2f GB/s",
                      perStep, steps, share, seconds, megabytes, t.bytesPerSecond / 1e9) + gathered
    }
}

/// `--allreduce-bucket-mb` and `--no-allreduce-overlap`: how the ranks' gradients are averaged.
struct DataParallelOptions: ParsableArguments {
    @Option(name: .customLong("allreduce-bucket-mb"), help: "Under mpirun: MiB of gradients per allreduce bucket, started as soon as the backward pass has finished them (default 25, as PyTorch DDP; 0 = one bucket per tensor, summed in place).")
    var bucketMB: Double = Double(OverlappedGradientAverager.defaultBucketBytes) / Double(1 << 20)
    @Flag(name: .customLong("no-allreduce-overlap"), help: "Under mpirun: average the gradients after the backward pass in one blocking round instead of overlapping it.")
    var noOverlap = false
    @Flag(name: .customLong("no-optimizer-sharding"), help: "Under mpirun: every rank runs the whole optimizer step (clip, AdamW) instead of its share followed by an all-gather of the updated weights (ZeRO-1, the default).")
    var noSharding = false

    func averaging() throws -> GradientAveraging {
        try InputRange.check("--allreduce-bucket-mb", bucketMB, in: 0...4096)
        return GradientAveraging(overlap: !noOverlap, bucketBytes: Int(bucketMB * Double(1 << 20)), shardOptimizer: !noSharding)
    }
}

/// Every `saveInterval` steps, on every rank: the ranks' trained weights must still be identical.
/// A difference stops the run on all ranks together (the check's verdict is shared).
final class ReplicaCheckCallback: TrainingCallback {
    private(set) var failure: Error?
    /// The run whose ranks it compares (the callback lives in that trainer's list: weak, no cycle).
    private weak var run: VLMTrainer?

    init(_ run: VLMTrainer) { self.run = run }

    func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl {
        guard case .step(let report) = event, let run, run.communicator.size > 1,
              report.step % run.recipe.saveInterval == 0 else { return .proceed }
        do { try run.checkReplicas() } catch { failure = error; return .stop }
        return .proceed
    }
}
