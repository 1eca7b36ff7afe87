import Foundation

/// The kernels that multiply packed decode weights (MiniMindV's bf16/int8/int4 `DecodeDType` copies)
/// by the few input rows of a decode step: chosen once by the CPU's features and reported by
/// `ComputeReport`, so a decode rate says which code produced it.
public enum DecodeKernel: String, Sendable, CaseIterable {
    /// Swift SIMD8 code, one weight row at a time: AVX2 with the Makefile's `-target-cpu haswell`,
    /// NEON on arm64, whatever the compiler targets elsewhere. Runs on every CPU.
    case portable = "swift-simd8"
    /// C with AVX-512 F/BW/DQ/VL (`CDecodeKernels`): 16 lanes, four weight rows per pass sharing
    /// the loads of x (bf16 and float32: see `weightRowsPerPass`). The same float32 products as
    /// `portable`; only the summation order differs.
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

    /// Weight rows per pass of the C bf16 and float32 (`SkinnyGEMM`) kernels for one-row products
    /// (single-sequence decode): 4 (sharing the loads of x) or 1 (one sequential stream of weights
    /// per thread); every row's sum is the same bit for bit. One on AMD CPUs, where one-row decode ran
    /// 1.5–1.75× faster in bf16 and 1.08–1.28× in float32 (a Zen 4 EPYC, Docs/Performance.md, "One
    /// weight row per pass for one-row products"), four elsewhere, as measured on the Xeon the kernels were written on.
    /// It also decides where float32 one-row products run (`SkinnyGEMM.minRows`): the C kernel with
    /// one row per pass, else OpenBLAS's sgemv. `MINIMIND_DECODE_ROWS=1|4` overrides both (4 gives the
    /// Xeon's behaviour on any CPU); other values are ignored (`doctor` shows the value in use).
    public static let weightRowsPerPass = weightRowsPerPass(for: .current, environment: ProcessInfo.processInfo.environment)

    /// The rows per pass for a product of `m` input rows: `weightRowsPerPass` for one row, which is
    /// memory-bound; four for more, where sharing the loads of x pays (8- and 16-row decode steps ran
    /// 0.67–0.99× as fast with one row per pass on the EPYC).
    public static func weightRowsPerPass(m: Int) -> Int { m == 1 ? weightRowsPerPass : 4 }

    public static func weightRowsPerPass(for features: CPUFeatures, environment: [String: String]) -> Int {
        switch environment["MINIMIND_DECODE_ROWS"] {
        case "1": return 1
        case "4": return 4
        default: return features.isAMD ? 1 : 4
        }
    }
}
