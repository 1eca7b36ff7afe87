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
    }

    #if canImport(CDNNL)
    /// Immutable after creation (oneDNN primitives may run on several threads at once); kept for
    /// the process, like the cache that holds it.
    final class Plan: @unchecked Sendable {
        /// Filled by C and never copied by Swift (oneDNN's descriptors hold unions).
        let matmul: UnsafeMutablePointer<mm_matmul>
        let implementation: String
        init(matmul: UnsafeMutablePointer<mm_matmul>) {
            self.matmul = matmul
            implementation = matmul.pointee.implementation.map { String(cString: $0) } ?? "unknown"
        }
    }
    #else
    final class Plan: Sendable { let implementation = "" }
    #endif

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
                                      key.lda, key.ldb, key.ldc, key.bf16 ? 1 : 0, key.accumulate ? 1 : 0)
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
