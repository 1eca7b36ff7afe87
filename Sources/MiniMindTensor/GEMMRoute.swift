import Foundation

/// Which backend runs a product, or one thread's block of it.
///
/// - bfloat16 (`Compute.precision == .bf16` where available): oneDNN, for products with at least
///   32 rows and columns and 128 of depth, alpha 1 and beta 0 or 1. Smaller ones (decode steps)
///   stay float32: rounding both inputs costs a pass over them that a small product does not
///   repay. Attention's per-block products run in bf16 from operands rounded once per call
///   (`usesBF16Attention`).
/// - float32: oneDNN for forward-shaped products x·Wᵀ (B transposed, A not) of 9 (17 with AVX-512) to 512 rows per
///   block, OpenBLAS for the rest. On a quiet Xeon one thread of oneDNN f32 ran those 1.03–1.74×
///   OpenBLAS's Cooperlake kernels (prefill, image encoding, small batches), and 0.90–0.99× on
///   1,280-row blocks and on the transposed products of the backward pass (Docs/Performance.md,
///   "GEMM backends"). On AMD CPUs every float32 product of more rows than `SkinnyGEMM` takes runs on
///   oneDNN, transposed or not (`float32AllShapes`). Up to `SkinnyGEMM.maxRows` rows (16 with its
///   AVX-512 C kernel, else 8) stay on `SkinnyGEMM`, one on GEMV.
/// `MINIMIND_GEMM=openblas` turns oneDNN off altogether (bf16 then falls back to float32);
/// `MINIMIND_GEMM=onednn` runs every float32 product of two or more rows on oneDNN.
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

    /// Attention's per-block products in bf16 (`TokenMajorAttention`: the language model's
    /// full-sequence attention, i.e. training and forwards without a KV cache), for heads of at least
    /// `bf16Minimum.columns` dimensions. Their operands are rounded once per attention call or as a
    /// block's scores are written, which is what makes products of depth 64 pay (rounded per product
    /// they did not: Docs/Performance.md, "bf16 attention blocks").
    static func usesBF16Attention(headDim: Int, valueDim: Int) -> Bool {
        Compute.effectivePrecision == .bf16 && Swift.min(headDim, valueDim) >= bf16Minimum.columns
    }

    /// The rows per block in which oneDNN's float32 x·Wᵀ beat OpenBLAS (see above), above those
    /// `SkinnyGEMM` takes.
    static let float32Rows = (SkinnyGEMM.maxRows + 1)...512

    /// Float32 products of any shape above `SkinnyGEMM.maxRows` rows on oneDNN: on AMD CPUs, where
    /// its kernels beat OpenBLAS's Cooperlake ones on the training step's 1,280-row blocks and
    /// transposed products as well (a Zen 4 EPYC: SFT step 1.02–1.22× in six alternating rounds, image
    /// encoding 1.03–1.05×; Docs/Performance.md, "Float32 products on oneDNN on AMD").
    static let float32AllShapes = CPUFeatures.current.isAMD

    static func usesOneDNNFloat32(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float) -> Bool {
        guard m > 1 && alpha == 1 && (beta == 0 || beta == 1) && OneDNN.isAvailable else { return false }
        switch mode {
        case .openblas: return false
        case .onednn: return true
        case .auto: return float32AllShapes ? m > SkinnyGEMM.maxRows : transB && !transA && float32Rows.contains(m)
        }
    }

    /// One line for reports: which backend runs which products now.
    static var summary: String {
        var parts: [String] = []
        let dnnl = OneDNN.isAvailable ? "oneDNN \(OneDNN.version ?? "?")" : nil
        switch (mode, dnnl) {
        case (.onednn, let d?): parts.append("f32: \(d)")
        case (.auto, let d?) where float32AllShapes:
            parts.append("f32: \(d) for products of \(SkinnyGEMM.maxRows + 1)+ rows, OpenBLAS otherwise")
        case (.auto, let d?): parts.append("f32: \(d) for x·Wᵀ of \(float32Rows.lowerBound)–\(float32Rows.upperBound) rows, OpenBLAS otherwise")
        default: parts.append("f32: OpenBLAS")
        }
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
