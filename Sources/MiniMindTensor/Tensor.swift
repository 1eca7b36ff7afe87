import Foundation

/// Reference-counted, 64-byte aligned Float32 buffer shared by tensors that view it. Buffers of at
/// least `BufferPool.minimumBytes` come from and return to `BufferPool`.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Bytes of the pooled buffer behind `pointer`; 0 when it came from malloc directly.
    private let pooledBytes: Int

    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        var pooled = 0
        if let size = BufferPool.sizeClass(bytes) {
            if let (p, taken) = BufferPool.take(size) { raw = p; pooled = taken }
        } else if posix_memalign(&raw, 64, bytes) != 0 {
            raw = nil
        }
        guard let base = raw else {
            // Allocation failure is not recoverable for a numeric kernel.
            preconditionFailure("TensorStorage: cannot allocate \(bytes) bytes")
        }
        pointer = base.bindMemory(to: Float.self, capacity: max(count, 1))
        pooledBytes = pooled
        self.count = count
        if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
    }

    deinit {
        if pooledBytes > 0 { BufferPool.give(UnsafeMutableRawPointer(pointer), size: pooledBytes) } else { free(pointer) }
    }
}

/// A dense, row-major Float32 tensor. Tensors are always contiguous; `offset` lets a tensor view a
/// contiguous range of another tensor's storage (reshape, leading-axis slices) without copying.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: TensorStorage
    public let offset: Int
    public let count: Int

    /// Leaf tensors with `requiresGrad` receive `.grad` after `backward()`.
    public var requiresGrad: Bool
    public var grad: Tensor?
    /// The recorded operation that produced this tensor (nil for leaves and under `noGrad`).
    public internal(set) var gradFn: GradNode?
    /// A bf16 Linear's rounding of this recorded result, shared by the other products that read it
    /// before `backward()` drops it (`linear`); or the rounding an op wrote with its values (`swiglu`'s
    /// output and gradients), which a Linear reading them takes instead of rounding them again.
    var bfloat16Copy: BFloat16Bits.Buffer?

    public init(storage: TensorStorage, shape: [Int], offset: Int = 0, requiresGrad: Bool = false) {
        let n = Tensor.elementCount(shape)
        precondition(offset >= 0 && offset + n <= storage.count,
                     "Tensor: shape \(shape) at offset \(offset) exceeds storage of \(storage.count) elements")
        self.storage = storage
        self.shape = shape
        self.offset = offset
        self.count = n
        self.requiresGrad = requiresGrad
    }

    /// Uninitialised-free constructor: a zero-filled tensor.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(storage: TensorStorage(count: Tensor.elementCount(shape)), shape: shape, requiresGrad: requiresGrad)
    }

    /// A tensor whose contents the caller writes right away (skips zero-filling).
    public static func uninitialized(_ shape: [Int]) -> Tensor {
        Tensor(storage: TensorStorage(count: Tensor.elementCount(shape), zeroed: false), shape: shape)
    }

    public convenience init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(Tensor.elementCount(shape) == data.count,
                     "Tensor(shape:data:): shape \(shape) needs \(Tensor.elementCount(shape)) values, got \(data.count)")
        let s = TensorStorage(count: data.count, zeroed: false)
        data.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { s.pointer.initialize(from: base, count: data.count) }
        }
        self.init(storage: s, shape: shape, requiresGrad: requiresGrad)
    }

    public convenience init(_ data: [Float]) { self.init(shape: [data.count], data: data) }

    public convenience init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(zeros: shape, requiresGrad: requiresGrad)
    }

    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, value: 1, requiresGrad: requiresGrad)
    }

    public static func full(_ shape: [Int], value: Float, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor.uninitialized(shape)
        t.mutablePointer.initialize(repeating: value, count: t.count)
        t.requiresGrad = requiresGrad
        return t
    }

    /// Values 0, 1, …, n-1 as floats.
    public static func arange(_ n: Int) -> Tensor {
        Tensor(shape: [n], data: (0..<n).map { Float($0) })
    }

    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { acc, d in
            precondition(d >= 0, "Tensor: negative dimension in shape \(shape)")
            return acc * d
        }
    }

    // MARK: access

    public var rank: Int { shape.count }

    /// Read-only base pointer of this tensor's elements.
    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer + offset) }
    /// Mutable base pointer; writing through it bypasses autograd (optimizer updates, caches).
    public var mutablePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public var mutableBuffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: mutablePointer, count: count)
    }

    public func toArray() -> [Float] { Array(buffer) }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements, expected 1")
        return pointer[0]
    }

    public func dim(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    public func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "Tensor: axis \(axis) out of range for shape \(shape)")
        return a
    }

    /// Element at a multi-index (slow; for tests and small reads).
    public subscript(_ index: Int...) -> Float {
        get { pointer[flatIndex(index)] }
        set { mutablePointer[flatIndex(index)] = newValue }
    }

    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "Tensor subscript: \(index.count) indices for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "Tensor subscript: index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// A deep copy without autograd history.
    public func copy() -> Tensor {
        let t = Tensor.uninitialized(shape)
        t.mutablePointer.update(from: pointer, count: count)
        return t
    }

    /// The same values, cut from the graph (shares storage).
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, offset: offset)
    }

    /// Overwrites this tensor's values with `other`'s (same element count); no autograd.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "Tensor.assign: shapes \(shape) and \(other.shape) differ in size")
        mutablePointer.update(from: other.pointer, count: count)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = count <= 8 ? toArray().map { "\($0)" }.joined(separator: ", ")
                                : toArray().prefix(8).map { "\($0)" }.joined(separator: ", ") + ", …"
        return "Tensor(shape: \(shape), [\(values)])"
    }
}
