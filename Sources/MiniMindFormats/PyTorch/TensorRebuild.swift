/// torch's `_rebuild_tensor_v2`: a tensor is (storage, element offset, size, stride). Contiguous
/// views stay zero-copy slices of the storage (tied weights keep sharing bytes); strided views
/// (transposes, column slices, expands) are gathered into a contiguous copy.
enum TensorRebuild {
    static func view(storage: TensorData, offset: Int, size: [Int], stride: [Int],
                     copyBudget: inout Int, path: String) throws -> TensorData {
        func fail(_ reason: String) -> CheckpointError {
            .malformed(path: path, format: "pickle (data.pkl)", reason: "tensor view \(size) stride \(stride) offset \(offset): \(reason)")
        }
        guard size.count == stride.count else { throw fail("size and stride have different ranks") }
        guard let count = checkedElementCount(size) else { throw fail("invalid or overflowing size") }
        guard offset >= 0, stride.allSatisfy({ $0 >= 0 }) else { throw fail("negative offset or stride") }
        let elementSize = storage.dtype.byteSize
        if count == 0 { return try TensorData(dtype: storage.dtype, shape: size, bytes: .init()) }

        // Highest element index touched must lie inside the storage.
        var last = offset
        for (n, s) in zip(size, stride) {
            guard let span = checkedMul(n - 1, s) else { throw fail("index overflow") }
            let (sum, o) = last.addingReportingOverflow(span)
            guard !o else { throw fail("index overflow") }
            last = sum
        }
        guard last < storage.elementCount else { throw fail("reaches element \(last) of a storage with \(storage.elementCount) elements") }

        if isContiguous(size, stride) {
            return try TensorData(dtype: storage.dtype, shape: size, store: storage.store,
                                  byteOffset: storage.byteOffset + offset * elementSize)
        }
        guard let bytes = checkedMul(count, elementSize), bytes <= copyBudget else {
            throw fail("materialising it needs \(count) elements, more than the file can justify")
        }
        copyBudget -= bytes
        let store = ByteStore.build(count: bytes) { dst in
            gather(from: storage.store.base + storage.byteOffset, elementSize: elementSize, offset: offset,
                   size: size, stride: stride, into: dst)
        }
        return try TensorData(dtype: storage.dtype, shape: size, store: store)
    }

    /// Row-major contiguity, ignoring the stride of size-1 dimensions (as torch does).
    static func isContiguous(_ size: [Int], _ stride: [Int]) -> Bool {
        var expected = 1
        for i in stride.indices.reversed() where size[i] != 1 {
            if stride[i] != expected { return false }
            expected *= size[i]
        }
        return true
    }

    /// Copies the strided elements in row-major order (odometer over all but the last dimension).
    private static func gather(from src: UnsafeRawPointer, elementSize: Int, offset: Int,
                               size: [Int], stride: [Int], into dst: UnsafeMutableRawPointer) {
        let rank = size.count
        if rank == 0 { dst.copyMemory(from: src + offset * elementSize, byteCount: elementSize); return }
        let inner = size[rank - 1], innerStride = stride[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var out = dst
        var base = offset
        while true {
            var e = base
            for _ in 0..<inner {
                out.copyMemory(from: src + e * elementSize, byteCount: elementSize)
                out += elementSize
                e += innerStride
            }
            // Advance the outer dimensions.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                base += stride[d]
                if index[d] < size[d] { break }
                base -= stride[d] * size[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }
}
