import Foundation

/// The kernels that multiply packed decode weights (MiniMindV's bf16/int8/int4 `DecodeDType` copies)
/// by the few input rows of a decode step: chosen once by the CPU's features and reported by
/// `ComputeReport`, so a decode rate says which code produced it.
public enum DecodeKernel: String, Sendable, CaseIterable {
    /// Swift SIMD8 code, one weight row at a time: AVX2 with the Makefile's `-target-cpu haswell`,
    /// NEON on arm64, whatever the compiler targets elsewhere. Runs on every CPU.
    case portable = "swift-simd8"
    /// C with AVX-512 F/BW/DQ/VL (`CDecodeKernels`): 16 lanes, four weight rows per pass sharing
    /// the loads of x (bf16: see `bf16RowsPerPass`). The same float32 products as `portable`; only
    /// the summation order differs.
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

    /// Weight rows per pass of the C bf16 kernel: 4 (sharing the loads of x) or 1 (one sequential
    /// stream of weights); every row's sum is the same bit for bit. One on AMD CPUs, where it ran
    /// 1.1–1.45× faster (a Zen 4 EPYC, Docs/Performance.md, "On an AMD EPYC"), four elsewhere, as
    /// measured on the Xeon it was written on. `MINIMIND_DECODE_BF16_ROWS=1|4` overrides.
    public static let bf16RowsPerPass = bf16RowsPerPass(for: .current, environment: ProcessInfo.processInfo.environment)

    public static func bf16RowsPerPass(for features: CPUFeatures, environment: [String: String]) -> Int {
        switch environment["MINIMIND_DECODE_BF16_ROWS"] {
        case "1": return 1
        case "4": return 4
        default: return features.isAMD ? 1 : 4
        }
    }
}
