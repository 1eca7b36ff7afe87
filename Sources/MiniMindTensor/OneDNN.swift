#if canImport(CDNNL)
import CDNNL
#endif
import Foundation
import Synchronization

/// oneDNN's matmul primitive as a second GEMM backend beside OpenBLAS: planned once per shape
/// (planning costs ~0.1 ms; a model uses a few dozen shapes) and kept for the process. Each call
/// runs on the calling thread; `BLAS.gemm` splits the product across the pool as for OpenBLAS.
enum OneDNN {
    struct Key: Hashable {
        let m, n, k: Int
        let transA, transB: Bool
        let lda, ldb, ldc: Int
        let bf16, accumulate: Bool
        /// B is a constant weight read from a copy in the kernel's own layout (`pack(_:from:)`).
        var packedB = false
    }

    #if canImport(CDNNL)
    /// Immutable after creation (oneDNN primitives may run on several threads at once); kept for
    /// the process, like the cache that holds it.
    final class Plan: @unchecked Sendable {
        /// Filled by C and never copied by Swift (oneDNN's descriptors hold unions).
        let matmul: UnsafeMutablePointer<mm_matmul>
        let implementation: String
        /// B's layout differs from the caller's: the plan runs on a packed copy only.
        let readsPackedB: Bool
        init(matmul: UnsafeMutablePointer<mm_matmul>) {
            self.matmul = matmul
            implementation = matmul.pointee.implementation.map { String(cString: $0) } ?? "unknown"
            readsPackedB = matmul.pointee.b_packed != 0
        }
    }
    #else
    final class Plan: Sendable { let implementation = ""; let readsPackedB = false }
    #endif

    /// A weight reordered once into the layout of the plan that made it (64-byte aligned), for every
    /// plan that reads B in that same layout (`fits(_:)`).
    final class PackedB: @unchecked Sendable {
        let plan: Plan
        /// Pooled (`BufferPool`): a training step re-packs every weight, and fresh mappings each
        /// time cost page faults.
        private let storage: TensorStorage
        var pointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage.pointer) }
        fileprivate init(plan: Plan, storage: TensorStorage) { self.plan = plan; self.storage = storage }

        /// Whether `other` reads B in this copy's layout, from the same caller's layout.
        func fits(_ other: Plan) -> Bool {
            #if canImport(CDNNL)
            return other === plan || mm_matmul_same_b(plan.matmul, other.matmul) != 0
            #else
            return false
            #endif
        }
    }

    /// B (as the plan's caller stores it: float32 or bfloat16, transposed or not) reordered into the
    /// layout `plan` reads; nil when the plan reads B as stored, or on failure.
    static func pack(_ plan: Plan, from b: UnsafeRawPointer) -> PackedB? {
        #if canImport(CDNNL)
        guard plan.readsPackedB else { return nil }
        let storage = TensorStorage(count: (plan.matmul.pointee.b_bytes + 3) / 4, zeroed: false)
        guard mm_matmul_pack_b(plan.matmul, b, storage.pointer) == 0 else { return nil }
        return PackedB(plan: plan, storage: storage)
        #else
        return nil
        #endif
    }

    /// Whether oneDNN is linked, its CPU engine starts, and `MINIMIND_GEMM` does not say `openblas`.
    static let isAvailable: Bool = {
        if ProcessInfo.processInfo.environment["MINIMIND_GEMM"]?.lowercased() == "openblas" { return false }
        #if canImport(CDNNL)
        return mm_dnnl_engine() != nil
        #else
        return false
        #endif
    }()

    static var version: String? {
        #if canImport(CDNNL)
        return mm_dnnl_version().map { String(cString: $0) }
        #else
        return nil
        #endif
    }

    private static let plans = Mutex<[Key: Plan?]>([:])

    /// The plan for `key`, made on first use; nil when oneDNN cannot run it (then OpenBLAS does).
    static func plan(_ key: Key) -> Plan? {
        guard isAvailable else { return nil }
        if let cached = plans.withLock({ $0[key] }) { return cached }
        #if canImport(CDNNL)
        let mm = UnsafeMutablePointer<mm_matmul>.allocate(capacity: 1)
        mm.initialize(to: mm_matmul())
        let status = mm_matmul_create(mm, key.m, key.n, key.k, key.transA ? 1 : 0, key.transB ? 1 : 0,
                                      key.lda, key.ldb, key.ldc, key.bf16 ? 1 : 0, key.accumulate ? 1 : 0, key.packedB ? 1 : 0)
        let plan: Plan? = status == 0 ? Plan(matmul: mm) : nil
        if plan == nil { mm.deallocate() }
        #else
        let plan: Plan? = nil
        #endif
        plans.withLock { $0[key] = plan }
        return plan
    }

    /// Runs a plan: C (+)= op(A)·op(B) with A and B float32 or bfloat16 as planned. False on failure.
    static func run(_ plan: Plan, a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutablePointer<Float>) -> Bool {
        #if canImport(CDNNL)
        return mm_matmul_run(plan.matmul, a, b, c) == 0
        #else
        return false
        #endif
    }

    /// The implementations planned so far (for the report), e.g. ["brg:avx512_core_amx_bf16"].
    static var implementations: [String] {
        plans.withLock { Array(Set($0.values.compactMap { $0?.implementation })).sorted() }
    }
}
