import Foundation

/// A typed tensor as stored in a checkpoint: dtype, shape and contiguous little-endian bytes.
/// The bytes are a slice of a `ByteStore` (heap or memory-mapped file), so reading a checkpoint
/// copies nothing until `toTensor()` converts to the engine's Float32 storage.
public struct TensorData: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let elementCount: Int
    public let store: ByteStore
    public let byteOffset: Int

    public var byteCount: Int { elementCount * dtype.byteSize }

    /// A view of `store` starting at `byteOffset`; throws when the shape's bytes do not fit.
    public init(dtype: DType, shape: [Int], store: ByteStore, byteOffset: Int = 0) throws {
        guard let n = checkedElementCount(shape), let bytes = checkedMul(n, dtype.byteSize) else {
            throw CheckpointError.typeMismatch(what: "tensor shape", expected: "non-negative dimensions", found: "\(shape)")
        }
        guard byteOffset >= 0, byteOffset <= store.count, bytes <= store.count - byteOffset else {
            throw CheckpointError.typeMismatch(what: "tensor bytes", expected: "\(bytes) bytes for \(dtype.rawValue) \(shape)",
                                               found: "\(max(0, store.count - byteOffset)) bytes available at offset \(byteOffset)")
        }
        self.dtype = dtype
        self.shape = shape
        self.elementCount = n
        self.store = store
        self.byteOffset = byteOffset
    }

    /// Owns a copy of `bytes` (little-endian, row-major).
    public init(dtype: DType, shape: [Int], bytes: Data) throws {
        guard let n = checkedElementCount(shape), n * dtype.byteSize == bytes.count else {
            throw CheckpointError.typeMismatch(what: "tensor bytes for \(dtype.rawValue) \(shape)",
                                               expected: "\((checkedElementCount(shape) ?? -1) * dtype.byteSize) bytes",
                                               found: "\(bytes.count) bytes")
        }
        try self.init(dtype: dtype, shape: shape, store: .copying(bytes))
    }

    /// Stores a Float32 tensor as `dtype`; f16/bf16 round to nearest even like torch's `.half()` /
    /// `.bfloat16()`. Integer dtypes are refused (use `init(int64s:shape:)`).
    public init(tensor: Tensor, dtype: DType = .f32) throws {
        guard dtype.isFloatingPoint else {
            throw CheckpointError.typeMismatch(what: "TensorData(tensor:dtype:)", expected: "a floating dtype (F32, F16, BF16, F64)",
                                               found: dtype.rawValue)
        }
        let n = tensor.count
        let store = ByteStore.build(count: n * dtype.byteSize) { dst in
            _ = ElementConversion.fromFloat(tensor.pointer, dtype, dst, n)
        }
        try self.init(dtype: dtype, shape: tensor.shape, store: store)
    }

    /// Stores 64-bit integers (token ids, step counters).
    public init(int64s values: [Int64], shape: [Int]) throws {
        guard checkedElementCount(shape) == values.count else {
            throw CheckpointError.typeMismatch(what: "TensorData(int64s:shape:)", expected: "\(checkedElementCount(shape) ?? -1) values for shape \(shape)",
                                               found: "\(values.count) values")
        }
        let store = ByteStore.build(count: values.count * 8) { dst in
            values.withUnsafeBytes { src in if let s = src.baseAddress { dst.copyMemory(from: s, byteCount: src.count) } }
        }
        try self.init(dtype: .i64, shape: shape, store: store)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: store.base + byteOffset, count: byteCount))
    }

    /// A copy of the raw little-endian bytes.
    public var bytes: Data { withUnsafeBytes { Data($0) } }

    /// The values as a Float32 tensor: f16/bf16 widen exactly; f64 and integers round to nearest
    /// like torch's `.float()`; bools become 0/1.
    public func toTensor() throws -> Tensor {
        let t = Tensor.uninitialized(shape)
        copyFloats(to: t.mutablePointer)
        return t
    }

    /// Writes the values as float32 (as `toTensor()`) to `dst`, which holds `elementCount` floats.
    public func copyFloats(to dst: UnsafeMutablePointer<Float>) {
        withUnsafeBytes { src in
            if let base = src.baseAddress { ElementConversion.toFloat(base, dtype, dst, elementCount) }
        }
    }

    /// Lets the OS drop this tensor's pages of a memory-mapped file from memory (they read back from
    /// the file if touched again); no effect on heap stores. Call after converting the values.
    public func releasePages() { store.releasePages(offset: byteOffset, count: byteCount) }

    /// The values as 64-bit integers (integer and bool dtypes only).
    public func int64Values() throws -> [Int64] {
        let values: [Int64]? = withUnsafeBytes { src in
            guard let base = src.baseAddress else { return dtype.isFloatingPoint ? nil : [] }
            return ElementConversion.toInt64(base, dtype, elementCount)
        }
        guard let v = values else {
            throw CheckpointError.typeMismatch(what: "int64Values()", expected: "an integer or bool dtype", found: dtype.rawValue)
        }
        return v
    }

    /// The same values stored as another floating dtype (no-op when equal). Rounds like torch.
    public func converted(to target: DType) throws -> TensorData {
        if target == dtype { return self }
        return try TensorData(tensor: try toTensor(), dtype: target)
    }

    /// Same bytes, different shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> TensorData {
        guard checkedElementCount(newShape) == elementCount else {
            throw CheckpointError.typeMismatch(what: "reshape", expected: "\(elementCount) elements", found: "shape \(newShape)")
        }
        return try TensorData(dtype: dtype, shape: newShape, store: store, byteOffset: byteOffset)
    }
}

extension TensorData: CustomStringConvertible {
    public var description: String { "TensorData(\(dtype.rawValue), \(shape))" }
}

extension TensorData: Equatable {
    /// Equal dtype, shape and bytes.
    public static func == (a: TensorData, b: TensorData) -> Bool {
        guard a.dtype == b.dtype, a.shape == b.shape else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in
            guard let p = x.baseAddress, let q = y.baseAddress, x.count > 0 else { return x.count == y.count }
            return memcmp(p, q, x.count) == 0
        } }
    }
}
