import Foundation

/// Averages the gradients over the ranks while the backward pass is still running, the way PyTorch
/// DDP's reducer does (Docs/Distributed.md, "Overlap with the backward pass"). The trained tensors
/// are grouped into buckets of about `bucketBytes` in the order the backward pass finishes their
/// gradients (last layers first). `gradientReady` — the hook of `Tensor.backward(gradientReady:)` —
/// marks a gradient final; when every gradient of the next bucket is final its non-blocking
/// allreduce starts (`Communicator.startAllreduceSum`), and each hook call also polls the requests in
/// flight so the engine moves them on between the layers' backward work. `finish` starts whatever is
/// left (parameters this rank's graph did not reach), waits, and leaves every gradient averaged.
///
/// Buckets start strictly in order, so every rank starts the same collectives in the same order
/// even if their backward passes finish tensors in different orders. The first step's buckets
/// follow the reverse of the parameter order; after it, rank 0's observed order is broadcast and the
/// buckets are rebuilt from it (DDP does the same), so that e.g. the vision projector, read first in
/// the forward pass and hence finished last, is no longer waited for by the first bucket.
///
/// Memory: a bucket of one tensor is summed in place in that tensor's gradient; a bucket of several
/// is copied once into a flat buffer that is summed in place, and the gradients become views of it.
/// With `bucketBytes` 0 every gradient is its own bucket (no copy at all, more, smaller messages).
public final class OverlappedGradientAverager {
    /// DDP's default bucket size (25 MiB).
    public static let defaultBucketBytes = 25 << 20

    public let parameters: [Tensor]
    public let bucketBytes: Int
    private let communicator: any Communicator
    private let slot: [ObjectIdentifier: Int]
    private var buckets: [[Int]] = []
    private var bucketOf: [Int] = []
    /// Per bucket: gradients not final yet in the current step.
    private var missing: [Int] = []
    private var isReady: [Bool]
    /// Whether this rank had a gradient for the tensor when its bucket started.
    private var hadGradient: [Bool]
    private var observedOrder: [Int] = []
    private var launched = 0
    private var inFlight: [(bucket: Int, request: AllreduceRequest, storage: TensorStorage?, scaled: Bool)] = []
    private var rebuilt = false
    private var sawBackward = false

    /// `parameters`: distinct tensors, the same list in the same order on every rank (the optimizer's).
    public init(parameters: [Tensor], bucketBytes: Int = defaultBucketBytes, over communicator: any Communicator) {
        precondition(bucketBytes >= 0, "OverlappedGradientAverager: negative bucket size \(bucketBytes)")
        self.parameters = parameters
        self.bucketBytes = bucketBytes
        self.communicator = communicator
        slot = Dictionary(parameters.enumerated().map { (ObjectIdentifier($0.element), $0.offset) }) { first, _ in
            preconditionFailure("OverlappedGradientAverager: parameter \(first) listed twice")
        }
        isReady = Array(repeating: false, count: parameters.count)
        hadGradient = isReady
        plan(order: Array(parameters.indices.reversed()))
    }

    /// Groups the parameters, in `order`, into consecutive buckets of at most `bucketBytes` (a
    /// larger tensor makes a bucket of its own).
    private func plan(order: [Int]) {
        buckets = []
        var current: [Int] = [], bytes = 0
        for i in order {
            let size = parameters[i].count * MemoryLayout<Float>.size
            if !current.isEmpty && bytes + size > bucketBytes { buckets.append(current); current = []; bytes = 0 }
            current.append(i)
            bytes += size
        }
        if !current.isEmpty { buckets.append(current) }
        bucketOf = Array(repeating: 0, count: parameters.count)
        for (b, members) in buckets.enumerated() { for i in members { bucketOf[i] = b } }
        missing = buckets.map(\.count)
    }

    /// The hook for `Tensor.backward(gradientReady:)` on the step's last micro-batch: `tensor`'s
    /// gradient is final. Starts the buckets that are complete and polls the ones in flight.
    public func gradientReady(_ tensor: Tensor) throws {
        guard communicator.size > 1, let i = slot[ObjectIdentifier(tensor)], !isReady[i] else { return }
        sawBackward = true
        markReady(i)
        try launchCompleteBuckets()
        try poll()
    }

    private func markReady(_ i: Int) {
        isReady[i] = true
        observedOrder.append(i)
        missing[bucketOf[i]] -= 1
    }

    private func launchCompleteBuckets() throws {
        while launched < buckets.count && missing[launched] == 0 {
            try launch(launched)
            launched += 1
        }
    }

    private func launch(_ b: Int) throws {
        let members = buckets[b]
        for i in members { hadGradient[i] = parameters[i].grad != nil }
        if members.count == 1 {
            let p = parameters[members[0]]
            if p.grad == nil { p.grad = Tensor.zeros(p.shape) }  // counted as zeros; nil again in finish if nil everywhere
            let request = try communicator.startAllreduceSum(p.grad!.mutableBuffer)
            inFlight.append((b, request, nil, false))
            return
        }
        let total = members.reduce(0) { $0 + parameters[$1].count }
        let storage = TensorStorage(count: total, zeroed: false)
        var at = 0
        for i in members {
            let p = parameters[i]
            if let g = p.grad { (storage.pointer + at).update(from: g.pointer, count: p.count) } else { (storage.pointer + at).update(repeating: 0, count: p.count) }
            at += p.count
        }
        let request = try communicator.startAllreduceSum(UnsafeMutableBufferPointer(start: storage.pointer, count: total))
        inFlight.append((b, request, storage, false))
    }

    /// Lets the engine move the requests in flight on; divides the completed ones by the rank count.
    private func poll() throws {
        for k in inFlight.indices where !inFlight[k].scaled {
            guard try communicator.test(inFlight[k].request) else { break }  // later ones wait on earlier ones anyway
            scale(k)
        }
    }

    private func scale(_ k: Int) {
        let scale = 1 / Float(communicator.size)
        if let storage = inFlight[k].storage {
            Kernels.scaleInPlace(storage.pointer, scale, count: storage.count)
        } else if let g = parameters[buckets[inFlight[k].bucket][0]].grad {
            Kernels.scaleInPlace(g.mutablePointer, scale, count: g.count)
        }
        inFlight[k].scaled = true
    }

    /// After the step's backward passes (also when this rank had no samples): starts the buckets
    /// not started yet, sums `extra` (the step's loss and token count) over the ranks, waits for
    /// every bucket and leaves each trained tensor's gradient averaged over the ranks — nil where it
    /// was nil on every rank (AdamW skips it, as one process would).
    public func finish(extra: inout [Double]) throws {
        guard communicator.size > 1 else { return }
        for i in parameters.indices where !isReady[i] { markReady(i) }
        try launchCompleteBuckets()
        var header = hadGradient.map { $0 ? 1.0 : 0.0 } + extra
        try header.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
        extra = Array(header[parameters.count...])
        for k in inFlight.indices where !inFlight[k].scaled {
            try communicator.wait(inFlight[k].request)
            scale(k)
        }
        for entry in inFlight {
            guard let storage = entry.storage else { continue }
            var at = 0
            for i in buckets[entry.bucket] {
                let p = parameters[i]
                p.grad = Tensor(storage: storage, shape: p.shape, offset: at)
                at += p.count
            }
        }
        for i in parameters.indices where header[i] == 0 { parameters[i].grad = nil }
        try startNextStep()
    }

    /// Clears the step's marks; after the first step, rebuilds the buckets in rank 0's observed order.
    private func startNextStep() throws {
        inFlight.removeAll()
        launched = 0
        isReady = Array(repeating: false, count: parameters.count)
        if !rebuilt {
            // Every rank marked every tensor once, so each holds a permutation of the same length;
            // rank 0's counts if its backward pass reported any (not a step without samples there).
            var order = [sawBackward ? 1.0 : 0.0] + observedOrder.map(Double.init)
            try order.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
            if order[0] == 1 {
                rebuilt = true
                plan(order: order.dropFirst().map { Int($0) })
            }
        }
        sawBackward = false
        observedOrder.removeAll()
        missing = buckets.map(\.count)
    }
}
