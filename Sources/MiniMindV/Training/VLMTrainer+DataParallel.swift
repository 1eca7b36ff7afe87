import Foundation

/// Data parallelism in `VLMTrainer` (Docs/Distributed.md). The run is defined by the global
/// micro-batch, `recipe.batchSize × communicator.size` samples: micro-batch i of an epoch is the
/// same slice of the epoch's order as in one process with that batch size, and rank r takes the
/// r-th `recipe.batchSize` samples of it. Each rank's loss is weighted by its share of the slice's
/// counted targets, so the averaged gradient is exactly the one-process gradient of the whole slice
/// (not just when every rank happens to hold as many answer tokens as the others).
extension VLMTrainer {
    /// Samples per global micro-batch: the per-rank batch times the number of ranks.
    public var globalBatchSize: Int { recipe.batchSize * communicator.size }

    /// This rank's samples of global micro-batch `i` in the epoch's `order` (empty when the last,
    /// short micro-batch ends before this rank's share).
    func rankShare(of order: [Int], microBatch i: Int) -> ArraySlice<Int> {
        let start = i * globalBatchSize + communicator.rank * recipe.batchSize
        let end = min((i + 1) * globalBatchSize, order.count)
        return order[min(start, end)..<min(start + recipe.batchSize, end)]
    }

    /// Starts summing the ranks' counted targets for this rank's `samples` of a micro-batch; the
    /// forward pass runs meanwhile and `LossWeight.value()` then gives the loss factor. Every rank
    /// calls it for every micro-batch, also with no samples.
    func startLossWeight(_ samples: [TrainingSample]) throws -> LossWeight {
        try LossWeight(counted: samples.reduce(0) { $0 + $1.countedLabels }, over: communicator)
    }

    /// Before clipping: every rank's gradients become the average over the ranks; the step's loss
    /// becomes the ranks' mean (each rank's loss is already weighted by its share) and the tokens
    /// their sum. All ranks then clip and step identically, so the replicas stay equal.
    func synchronizeStep(loss: inout Double, tokens: inout Int) throws {
        guard communicator.size > 1 else { return }
        var extra = [loss, Double(tokens)]
        if let averager = overlappedAverager() {
            try averager.finish(extra: &extra)
        } else {
            try DataParallel.averageGradients(optimizer.parameters, extra: &extra, over: communicator)
        }
        loss = extra[0] / Double(communicator.size)
        tokens = Int(extra[1])
    }

    /// Back-propagates `loss`. On the last micro-batch of an optimizer step with several ranks, the
    /// gradients' allreduce starts in buckets while the pass runs (`OverlappedGradientAverager`).
    func backPropagate(_ loss: Tensor, endsStep: Bool) throws {
        guard endsStep, let averager = overlappedAverager() else { return loss.backward() }
        var failure: Error?
        loss.backward(gradientReady: { tensor in
            guard failure == nil else { return }
            do { try averager.gradientReady(tensor) } catch { failure = error }
        })
        if let failure { throw failure }
    }

    /// The run's averager (nil with one rank or `gradientAveraging.overlap` off), made on first use.
    private func overlappedAverager() -> OverlappedGradientAverager? {
        guard communicator.size > 1, gradientAveraging.overlap else { return nil }
        if let existing = gradientAverager, existing.bucketBytes == gradientAveraging.bucketBytes,
           existing.parameters.elementsEqual(optimizer.parameters, by: ===) { return existing }
        gradientAverager = OverlappedGradientAverager(parameters: optimizer.parameters, bucketBytes: gradientAveraging.bucketBytes, over: communicator)
        return gradientAverager
    }

    /// Makes every rank start from rank 0's state — trained and frozen weights of the trained
    /// module, AdamW moments, position and loss history (so only rank 0 needs to read a resume
    /// file) — then checks that the ranks' weights are bit-identical. Call on every rank before `run()`.
    public func synchronizeInitialState() throws {
        let c = communicator
        guard c.size > 1 else { return }
        try DataParallel.broadcast(model.namedParameters(trainableOnly: false).map(\.1), over: c)
        // Optimizer state: names and shapes from rank 0 first (after a resume only rank 0 has any).
        struct Header: Codable { var position: TrainingPosition; var losses: [Double]; var state: [String: [Int]] }
        let mine = try fullOptimizerState()
        let header = Header(position: position, losses: losses, state: Dictionary(uniqueKeysWithValues: mine.map { ($0.0, $0.1.shape) }))
        let received = try JSONDecoder().decode(Header.self, from: DataParallel.broadcast(c.isRoot ? JSONEncoder().encode(header) : Data(), over: c))
        let names = received.state.keys.sorted()
        let state = c.isRoot ? Dictionary(uniqueKeysWithValues: mine) : Dictionary(uniqueKeysWithValues: names.map { ($0, Tensor.zeros(received.state[$0]!)) })
        try DataParallel.broadcast(names.map { state[$0]! }, over: c)
        if !c.isRoot {
            if !state.isEmpty { try optimizer.loadState(state) }
            position = received.position
            losses = received.losses
        }
        try checkReplicas()
    }

    /// Throws on every rank unless all ranks hold the same trained weights.
    public func checkReplicas() throws {
        try DataParallel.checkReplicasEqual(Array(zip(optimizer.parameterNames, optimizer.parameters)), over: communicator)
    }
}

/// How data-parallel training averages the ranks' gradients and splits the optimizer step (Docs/Distributed.md).
public struct GradientAveraging: Sendable, Equatable {
    /// Start the allreduce in buckets during the backward pass (default), or run it after the
    /// backward pass in one blocking round (`DataParallel.averageGradients`).
    public var overlap = true
    /// Bytes per bucket of the overlapped allreduce; 0 makes every gradient its own bucket.
    public var bucketBytes = OverlappedGradientAverager.defaultBucketBytes
    /// ZeRO-1: each rank clips and updates only its share of the trained elements, then the
    /// updated weights are all-gathered (default); off, every rank runs the whole optimizer step.
    /// Read at the run's first optimizer step.
    public var shardOptimizer = true

    public init(overlap: Bool = true, bucketBytes: Int = OverlappedGradientAverager.defaultBucketBytes, shardOptimizer: Bool = true) {
        self.overlap = overlap
        self.bucketBytes = bucketBytes
        self.shardOptimizer = shardOptimizer
    }
}

/// The factor for a rank's mean loss over its share of a micro-batch: (its counted targets × ranks)
/// / (all ranks' counted targets), so that averaging the ranks' gradients gives the gradient of the
/// global micro-batch's mean loss; nil with one rank (the loss is used as it is). The count's
/// allreduce is non-blocking, so it runs during the forward pass instead of holding every rank
/// until the slowest has started its micro-batch.
final class LossWeight {
    private let counted: Int
    private let communicator: any Communicator
    private let total: UnsafeMutableBufferPointer<Double>
    private let request: AllreduceRequest
    private var result: Float??

    init(counted: Int, over communicator: any Communicator) throws {
        self.counted = counted
        self.communicator = communicator
        total = .allocate(capacity: 1)
        total[0] = Double(counted)
        request = communicator.size > 1 ? try communicator.startAllreduceSum(total) : .completed
    }

    /// Waits for the sum (once) and returns the factor.
    func value() throws -> Float? {
        if let result { return result }
        guard communicator.size > 1 else { result = .some(nil); return nil }
        try communicator.wait(request)
        let factor: Float? = total[0] > 0 ? Float(Double(counted * communicator.size) / total[0]) : 0
        result = factor
        return factor
    }

    deinit {
        // The engine may still write the sum (an error left the request waiting): wait first.
        if result == nil && communicator.size > 1 { try? communicator.wait(request) }
        total.deallocate()
    }
}
