/// How the large matrix products compute: the setting `BLAS.gemm` reads at every call.
///
/// `.f32` (the default) keeps float32 inputs and accumulation, the reference that matches PyTorch.
/// `.bf16` rounds both inputs of each large product to bfloat16 (nearest even, as PyTorch's
/// `.to(torch.bfloat16)`) and accumulates in float32 on oneDNN's AMX or AVX512-BF16 kernels: several
/// times faster on CPUs that have them, at the error stated in Docs/Parity.md. Products that are
/// not large (decode's matrix–vector steps) and attention's per-block products stay float32, and
/// so does everything on a CPU without bf16 units or without oneDNN (`Compute.bf16Available`).
public enum ComputePrecision: String, CaseIterable, Codable, Sendable {
    case f32, bf16
}

public enum Compute {
    nonisolated(unsafe) private static var requested: ComputePrecision = .f32

    /// The precision large products use. Set it before computing, not while other threads compute
    /// (like `Threads.set`); `withPrecision` changes it for one scope.
    public static var precision: ComputePrecision {
        get { requested }
        set { requested = newValue }
    }

    /// Runs `body` with `precision` set to `p`, then restores the previous setting.
    public static func withPrecision<T>(_ p: ComputePrecision, _ body: () throws -> T) rethrows -> T {
        let previous = requested
        requested = p
        defer { requested = previous }
        return try body()
    }

    /// Whether `.bf16` runs in bfloat16 here: the CPU has bf16 units and oneDNN is linked.
    public static var bf16Available: Bool { CPUFeatures.current.bf16Compute && OneDNN.isAvailable }

    /// Why bf16 does not run here ("" when it does).
    public static var bf16Unavailability: String {
        if !CPUFeatures.current.bf16Compute { return "the CPU has no AVX512-BF16 or AMX-BF16" }
        if !OneDNN.isAvailable { return "oneDNN is not available (or MINIMIND_GEMM=openblas)" }
        return ""
    }

    /// The precision products actually use now (`.f32` when bf16 was asked for but is unavailable).
    public static var effectivePrecision: ComputePrecision { requested == .bf16 && bf16Available ? .bf16 : .f32 }
}
