import Foundation

/// Which backend runs a product, or one thread's block of it.
///
/// - bfloat16 (`Compute.precision == .bf16` where available): oneDNN, for products with at least
///   32 rows and columns and 128 of depth, alpha 1 and beta 0 or 1. Smaller ones (decode steps)
///   and scaled ones (attention scores) stay float32: rounding both inputs costs a pass over them
///   that a small product does not repay.
/// - float32: OpenBLAS, unless `MINIMIND_GEMM=onednn`. One-thread oneDNN f32 against OpenBLAS's
///   Cooperlake kernels at the model shapes measured 0.89–1.35× (Docs/Performance.md, "GEMM
///   backends"): no shape rule beat noise, and OpenBLAS keeps float32 results as they were.
/// `MINIMIND_GEMM=openblas` turns oneDNN off altogether (bf16 then falls back to float32).
enum GEMMRoute {
    enum Mode: String { case auto, openblas, onednn }

    static let mode: Mode = ProcessInfo.processInfo.environment["MINIMIND_GEMM"]
        .flatMap { Mode(rawValue: $0.lowercased()) } ?? .auto

    /// The smallest product bf16 runs: rows and columns ≥ 32, depth ≥ 128. (Tests lower it so that a
    /// tiny model's products take the bf16 path.)
    nonisolated(unsafe) static var bf16Minimum = (rows: 32, columns: 32, depth: 128)

    static func usesBF16(m: Int, n: Int, k: Int, alpha: Float, beta: Float) -> Bool {
        Compute.effectivePrecision == .bf16 && alpha == 1 && (beta == 0 || beta == 1)
            && m >= bf16Minimum.rows && n >= bf16Minimum.columns && k >= bf16Minimum.depth
    }

    static func usesOneDNNFloat32(m: Int, n: Int, k: Int, alpha: Float, beta: Float) -> Bool {
        mode == .onednn && m > 1 && alpha == 1 && (beta == 0 || beta == 1) && OneDNN.isAvailable
    }

    /// One line for reports: which backend runs which products now.
    static var summary: String {
        var parts: [String] = []
        let dnnl = OneDNN.isAvailable ? "oneDNN \(OneDNN.version ?? "?")" : nil
        parts.append(mode == .onednn && dnnl != nil ? "f32: \(dnnl!)" : "f32: OpenBLAS")
        switch (Compute.precision, Compute.effectivePrecision) {
        case (.bf16, .bf16): parts.append("bf16 (large products): \(dnnl ?? "-")")
        case (.bf16, _): parts.append("bf16 requested, unavailable (\(Compute.bf16Unavailability)): f32")
        default: break
        }
        let used = OneDNN.implementations
        if !used.isEmpty { parts.append("oneDNN kernels used: \(used.joined(separator: ", "))") }
        return parts.joined(separator: " · ")
    }
}
