/// The kernels that multiply packed decode weights (MiniMindV's bf16/int8/int4 `DecodeDType` copies)
/// by the few input rows of a decode step: chosen once by the CPU's features and reported by
/// `ComputeReport`, so a decode rate says which code produced it.
public enum DecodeKernel: String, Sendable, CaseIterable {
    /// Swift SIMD8 code, one weight row at a time: AVX2 with the Makefile's `-target-cpu haswell`,
    /// NEON on arm64, whatever the compiler targets elsewhere. Runs on every CPU.
    case portable = "swift-simd8"
    /// C with AVX-512 F/BW/DQ/VL (`CDecodeKernels`): 16 lanes, four weight rows per pass sharing
    /// the loads of x. The same float32 products as `portable`; only the summation order differs.
    case avx512 = "c-avx512"

    /// The fastest kernel a CPU with `features` can run.
    public static func best(for features: CPUFeatures) -> DecodeKernel {
        #if arch(x86_64)
        return features.avx512Core ? .avx512 : .portable
        #else
        return .portable
        #endif
    }

    /// This machine's kernel.
    public static let current = best(for: .current)
}
