import Synchronization

/// bfloat16 copies of weights, made once and read by every bf16 product that uses the weight, instead
/// of rounding the weight again at each use (a training step reads each Linear weight in the forward
/// and again in the backward, for every micro-batch). The owner refreshes the copies whenever the
/// weights change (the trainer: after every optimizer step) and empties the cache when done.
/// `BLAS.gemm` looks an operand up by its address: a product reading a registered tensor's values
/// from its first element uses the copy. The cache holds the tensors, so their storage cannot be
/// freed and reused for other data while registered.
///
/// An entry also keeps the weight packed into oneDNN's blocked layout (`OneDNN.PackedB`), made at its
/// first product: oneDNN's brgemm kernels otherwise copy the whole weight into that layout at every
/// call, in each thread's block. The packs belong to the entry, so `store` (a new entry) drops them
/// with the old copy: a product never reads a pack of older values than the bf16 copy.
public enum BFloat16WeightCache {
    final class Entry: @unchecked Sendable {
        let tensor: Tensor
        /// The weight rounded to bfloat16 (once per optimizer step).
        let rounded: BFloat16Bits.Buffer
        /// One per layout asked for (the forward's x·Wᵀ and the backward's dy·W read W differently).
        private let packs = Mutex<[OneDNN.PackedB]>([])
        init(_ t: Tensor, rounded: BFloat16Bits.Buffer? = nil) {
            tensor = t
            self.rounded = rounded ?? BFloat16Bits.rounded(t.pointer, count: t.count)
        }

        var packCount: Int { packs.withLock { $0.count } }

        /// The bf16 copy packed for all of `plans` (which must read all of B, from its start, in one
        /// layout), or nil when they do not share a packed layout.
        func packedB(for plans: [OneDNN.Plan]) -> OneDNN.PackedB? {
            guard let first = plans.first, first.readsPackedB else { return nil }
            return packs.withLock { list in
                let found = list.first { $0.fits(first) }
                guard let pack = found ?? OneDNN.pack(first, from: rounded.bits),
                      plans.allSatisfy(pack.fits) else { return nil }
                if found == nil { list.append(pack) }
                return pack
            }
        }
    }

    private static let entries = Mutex<[UnsafePointer<Float>: Entry]>([:])

    /// (Re)makes the bfloat16 copies of `tensors` from their current values.
    public static func store(_ tensors: [Tensor]) {
        let made = tensors.filter { $0.count > 0 }.map { Entry($0) }
        entries.withLock { map in for e in made { map[e.tensor.pointer] = e } }
    }

    /// Registers `rounded`, which must hold `tensor`'s current values rounded by `BFloat16Bits`
    /// (AdamW writes it in its update pass: `AdamW.step(refreshingBFloat16Copies:)`).
    static func store(_ tensor: Tensor, rounded: BFloat16Bits.Buffer) {
        guard tensor.count > 0 else { return }
        let e = Entry(tensor, rounded: rounded)
        entries.withLock { $0[tensor.pointer] = e }
    }

    /// (Re)makes the copies of every weight matrix (rank-2 parameter) of `module`. Inference in bf16
    /// calls it once after loading (a product reading an unregistered weight rounds it at every call:
    /// a quarter of a bf16 image encoding's time); call it again after changing the weights, since a
    /// product reads the copy, not the float32 values, while the copy is registered.
    public static func store(weightsOf module: Module) {
        store(module.parameters(trainableOnly: false).filter { $0.shape.count == 2 })
    }

    /// Drops every copy (and the cache's hold on the tensors).
    public static func removeAll() { entries.withLock { $0.removeAll() } }

    public static var count: Int { entries.withLock { $0.count } }

    /// The entry of the `count` values at `pointer`, when they are (the start of) a registered tensor.
    /// The caller holds it for the product, so a concurrent `store` cannot free what it reads.
    static func entry(_ pointer: UnsafePointer<Float>, count: Int) -> Entry? {
        entries.withLock { map in
            guard let e = map[pointer], count <= e.tensor.count else { return nil }
            return e
        }
    }
}
