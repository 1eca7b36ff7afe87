#if canImport(CCPUID)
import CCPUID
#endif

/// The CPU features that decide which GEMM kernels can run, read once with CPUID and counted only
/// where the operating system saves their registers (XCR0). All false on non-x86 machines.
public struct CPUFeatures: Sendable, Equatable {
    public var avx2 = false, fma = false
    public var avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false
    public var avx512vnni = false, avx512bf16 = false, avx512fp16 = false
    public var amxTile = false, amxBF16 = false, amxInt8 = false
    /// The vendor is AMD (not a feature: the decode kernels choose by how its memory system behaves).
    public var isAMD = false

    public init() {}

    /// This machine's features.
    public static let current: CPUFeatures = {
        var f = CPUFeatures()
        #if canImport(CCPUID)
        let c = mm_read_cpu_features()
        f.avx2 = c.avx2 != 0; f.fma = c.fma != 0
        f.avx512f = c.avx512f != 0; f.avx512bw = c.avx512bw != 0; f.avx512dq = c.avx512dq != 0; f.avx512vl = c.avx512vl != 0
        f.avx512vnni = c.avx512vnni != 0; f.avx512bf16 = c.avx512bf16 != 0; f.avx512fp16 = c.avx512fp16 != 0
        f.amxTile = c.amx_tile != 0; f.amxBF16 = c.amx_bf16 != 0; f.amxInt8 = c.amx_int8 != 0
        f.isAMD = c.amd != 0
        #endif
        return f
    }()

    /// AVX-512 F, BW, DQ and VL: the set OpenBLAS's SkylakeX kernels and oneDNN's avx512_core need.
    public var avx512Core: Bool { avx512f && avx512bw && avx512dq && avx512vl }
    /// Hardware bf16 products with float32 accumulation (AVX512-BF16 dot products or AMX tiles).
    public var bf16Compute: Bool { (avx512Core && avx512bf16) || (amxTile && amxBF16) }

    /// The names of the features present, in CPUID's spelling (as `lscpu` prints them).
    public var names: [String] {
        let all: [(Bool, String)] = [(avx2, "avx2"), (fma, "fma"), (avx512f, "avx512f"), (avx512bw, "avx512bw"),
                                     (avx512dq, "avx512dq"), (avx512vl, "avx512vl"), (avx512vnni, "avx512_vnni"),
                                     (avx512bf16, "avx512_bf16"), (avx512fp16, "avx512_fp16"),
                                     (amxTile, "amx_tile"), (amxBF16, "amx_bf16"), (amxInt8, "amx_int8")]
        return all.filter(\.0).map(\.1)
    }
}
