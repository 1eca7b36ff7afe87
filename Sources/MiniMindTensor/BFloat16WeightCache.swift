import Synchronization

/// bfloat16 copies of weights, made once and read by every bf16 product that uses the weight, instead
/// of rounding the weight again at each use (a training step reads each Linear weight in the forward
/// and again in the backward, for every micro-batch). The owner refreshes the copies whenever the
/// weights change (the trainer: after every optimizer step) and empties the cache when done.
/// `BLAS.gemm` looks an operand up by its address: a product reading a registered tensor's values
/// from its first element uses the copy. The cache holds the tensors, so their storage cannot be
/// freed and reused for other data while registered.
public enum BFloat16WeightCache {
    private final class Entry: @unchecked Sendable {
        let tensor: Tensor
        let bits: UnsafeMutablePointer<UInt16>
        init(_ t: Tensor) {
            tensor = t
            bits = BFloat16Bits.rounded(t.pointer, count: t.count)
        }
        deinit { bits.deallocate() }
    }

    private static let entries = Mutex<[UnsafePointer<Float>: Entry]>([:])

    /// (Re)makes the bfloat16 copies of `tensors` from their current values.
    public static func store(_ tensors: [Tensor]) {
        let made = tensors.filter { $0.count > 0 }.map(Entry.init)
        entries.withLock { map in for e in made { map[e.tensor.pointer] = e } }
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

    /// The copy of the `count` values at `pointer`, when they are (the start of) a registered tensor.
    static func lookup(_ pointer: UnsafePointer<Float>, count: Int) -> UnsafePointer<UInt16>? {
        entries.withLock { map in
            guard let e = map[pointer], count <= e.tensor.count else { return nil }
            return UnsafePointer(e.bits)
        }
    }
}
