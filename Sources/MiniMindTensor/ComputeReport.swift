import Foundation

/// What runs the arithmetic on this machine: the CPU, the BLAS library and its kernel core, the
/// thread count. `minimind-v doctor` prints it and the benchmarks put it beside their numbers, so a
/// rate always says which kernels produced it.
public struct ComputeReport: Codable, Sendable {
    public var cpuModel: String
    public var cpuFeatures: [String]
    public var blasLibrary: String
    public var blasVersion: String?
    public var kernelCore: String?
    public var kernelCoreDetected: String?
    public var kernelCoreSource: String
    public var threads: Int
    /// The precision large products use now and the GEMM backends that run them.
    public var computePrecision: String
    public var gemm: String
    /// The kernel of packed (bf16/int8/int4) decode weights (`DecodeKernel`); optional so reports
    /// written before it existed still decode.
    public var decodeKernel: String?
    /// Weight rows per pass of the C bf16 and float32 decode kernels in one-row products
    /// (`DecodeKernel.weightRowsPerPass`); nil where those kernels do not run.
    public var decodeRowsPerPass: Int?

    enum CodingKeys: String, CodingKey {
        case cpuModel = "cpu_model", cpuFeatures = "cpu_features", blasLibrary = "blas_library"
        case blasVersion = "blas_version", kernelCore = "kernel_core", kernelCoreDetected = "kernel_core_detected"
        case kernelCoreSource = "kernel_core_source", threads
        case computePrecision = "compute_precision", gemm
        case decodeKernel = "decode_kernel", decodeRowsPerPass = "decode_rows_per_pass"
    }

    /// The report for this process (makes the kernel selection happen if it has not yet).
    public static var current: ComputeReport {
        let threads = Threads.count
        let s = BLASKernelSelection.current
        #if canImport(Accelerate)
        let library = "Accelerate"
        #else
        let library = s.config ?? "CBLAS (not OpenBLAS)"
        #endif
        return ComputeReport(cpuModel: cpuModelName(), cpuFeatures: s.features.names, blasLibrary: library,
                             blasVersion: s.version, kernelCore: s.core, kernelCoreDetected: s.detectedCore,
                             kernelCoreSource: s.source.rawValue, threads: threads,
                             computePrecision: Compute.effectivePrecision.rawValue, gemm: GEMMRoute.summary,
                             decodeKernel: DecodeKernel.current.rawValue,
                             decodeRowsPerPass: DecodeKernel.current == .avx512 ? DecodeKernel.weightRowsPerPass : nil)
    }

    /// One line for a benchmark header.
    public var summary: String {
        "CPU \(cpuModel) · BLAS \(blasVersion.map { "OpenBLAS \($0)" } ?? blasLibrary) · kernel core \(kernelCore ?? "n/a")"
            + " · threads \(threads) · compute \(computePrecision) · GEMM \(gemm) · decode kernel \(decodeKernel ?? "n/a")"
            + (decodeRowsPerPassText.map { " (\($0))" } ?? "")
    }

    /// "N weight row(s) per pass" of the float32 and bf16 decode kernels' one-row products, for the
    /// header and `doctor`.
    public var decodeRowsPerPassText: String? {
        decodeRowsPerPass.map { "one-row products \($0) weight row\($0 == 1 ? "" : "s") per pass" }
    }

    /// `lscpu`'s "Model name": /proc/cpuinfo's first `model name` line, or the architecture.
    static func cpuModelName() -> String {
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}
