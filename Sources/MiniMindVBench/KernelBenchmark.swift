import Foundation
import MiniMindV

/// `minimind-v bench kernels`: the tensor kernels at the real model shapes, each beside a baseline
/// measured in the same run (the raw `cblas_sgemm` call, or memcpy of the same bytes).
public struct KernelBenchmark {
    public struct Row: Codable, Sendable {
        public var kernel: String
        public var shape: String
        public var timing: Timing
        /// GFLOP/s for compute-bound kernels, GB/s for memory-bound ones.
        public var rate: Double
        public var unit: String
        public var baseline: String
        public var baselineRate: Double
        /// rate / baselineRate: 1.0 means as fast as the baseline.
        public var ratio: Double { baselineRate > 0 ? rate / baselineRate : 0 }
    }

    public var repetitions: Int
    public init(repetitions: Int = 20) { self.repetitions = repetitions }

    public func run(progress: (String) -> Void = { _ in }) -> [Row] {
        var rows: [Row] = []
        for (m, k, n, what) in [(196, 768, 768, "CLIP layer"), (640, 512, 1536, "LM FFN"),
                                (640, 512, 6400, "LM head"), (1, 512, 6400, "decode LM head"),
                                (8, 768, 2048, "8-sequence decode FFN"), (8, 768, 6400, "8-sequence decode LM head")] {
            progress("matmul \(m)×\(k)×\(n)")
            rows.append(matmulRow(m: m, k: k, n: n, what: what))
        }
        progress("attention")
        rows.append(attentionRow(heads: 8, tokens: 640, headDim: 64))
        progress("rmsnorm")
        rows.append(rmsNormRow(rows: 640, dim: 512))
        progress("softmax-cross-entropy")
        rows.append(crossEntropyRow(rows: 640, vocab: 6400))
        return rows
    }

    private func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randn(shape, std: 0.5, generator: &g)
    }

    private func matmulRow(m: Int, k: Int, n: Int, what: String) -> Row {
        let x = randomTensor([m, k], seed: 1), w = randomTensor([n, k], seed: 2)
        let flops = 2.0 * Double(m * n * k)
        let t = noGrad { Timing.measure(repetitions: repetitions) { _ = linear(x, weight: w) } }
        let c = Tensor.uninitialized([m, n])
        let raw = Timing.measure(repetitions: repetitions) {
            BLAS.rawSgemm(transA: false, transB: true, m: m, n: n, k: k, a: x.pointer, b: w.pointer, c: c.mutablePointer)
        }
        return Row(kernel: "linear (\(what))", shape: "\(m)×\(k)×\(n)", timing: t, rate: flops / t.meanSeconds / 1e9,
                   unit: "GFLOP/s", baseline: "raw cblas_sgemm", baselineRate: flops / raw.meanSeconds / 1e9)
    }

    private func attentionRow(heads: Int, tokens: Int, headDim: Int) -> Row {
        let q = randomTensor([1, heads, tokens, headDim], seed: 3)
        let k = randomTensor([1, heads, tokens, headDim], seed: 4)
        let v = randomTensor([1, heads, tokens, headDim], seed: 5)
        let flops = 4.0 * Double(heads * tokens * tokens * headDim)
        let t = noGrad { Timing.measure(repetitions: repetitions) { _ = scaledDotProductAttention(q: q, k: k, v: v, causal: true) } }
        // Baseline: the two GEMMs per head alone (QKᵀ and PV), as raw sgemm calls.
        let s = Tensor.uninitialized([tokens, tokens]), o = Tensor.uninitialized([tokens, headDim])
        let raw = Timing.measure(repetitions: repetitions) {
            for h in 0..<heads {
                let off = h * tokens * headDim
                BLAS.rawSgemm(transA: false, transB: true, m: tokens, n: tokens, k: headDim,
                              a: q.pointer + off, b: k.pointer + off, c: s.mutablePointer)
                BLAS.rawSgemm(transA: false, transB: false, m: tokens, n: headDim, k: tokens,
                              a: s.pointer, b: v.pointer + off, c: o.mutablePointer)
            }
        }
        return Row(kernel: "attention (causal)", shape: "\(heads)h×\(tokens)×\(headDim)", timing: t,
                   rate: flops / t.meanSeconds / 1e9, unit: "GFLOP/s", baseline: "raw sgemm QKᵀ+PV",
                   baselineRate: flops / raw.meanSeconds / 1e9)
    }

    private func memcpyRate(bytes: Int) -> Double {
        let n = bytes / MemoryLayout<Float>.stride
        let src = Tensor.ones([n]), dst = Tensor.zeros([n])
        let t = Timing.measure(repetitions: repetitions) { dst.mutablePointer.update(from: src.pointer, count: n) }
        return 2.0 * Double(bytes) / t.meanSeconds / 1e9  // read + write
    }

    private func rmsNormRow(rows: Int, dim: Int) -> Row {
        let x = randomTensor([rows, dim], seed: 6), w = Tensor.ones([dim])
        let bytes = 2 * x.count * 4  // read x, write y
        let t = noGrad { Timing.measure(repetitions: repetitions) { _ = rmsNorm(x, weight: w, eps: 1e-5) } }
        return Row(kernel: "rmsnorm", shape: "\(rows)×\(dim)", timing: t, rate: Double(bytes) / t.meanSeconds / 1e9,
                   unit: "GB/s", baseline: "memcpy", baselineRate: memcpyRate(bytes: x.count * 4))
    }

    private func crossEntropyRow(rows: Int, vocab: Int) -> Row {
        let logits = randomTensor([rows, vocab], seed: 7)
        logits.requiresGrad = true
        var g = SeededGenerator(seed: 8)
        let targets = (0..<rows).map { _ in Int(g.next() % UInt64(vocab)) }
        let bytes = 2 * logits.count * 4  // forward reads logits; backward writes their gradient
        let t = Timing.measure(repetitions: repetitions) {
            crossEntropy(logits: logits, targets: targets).backward()
            logits.zeroGrad()
        }
        return Row(kernel: "softmax-cross-entropy fwd+bwd", shape: "\(rows)×\(vocab)", timing: t,
                   rate: Double(bytes) / t.meanSeconds / 1e9, unit: "GB/s", baseline: "memcpy",
                   baselineRate: memcpyRate(bytes: logits.count * 4))
    }

    public static func markdown(_ rows: [Row], threads: Int) -> String {
        var s = "| kernel | shape | time (ms) | rate | baseline | baseline rate | ratio |\n|---|---|---|---|---|---|---|\n"
        for r in rows {
            let time = "\(fixed(r.timing.meanSeconds * 1e3, 3)) ± \(fixed(r.timing.stddevSeconds * 1e3, 3))"
            s += "| \(r.kernel) | \(r.shape) | \(time) | \(fixed(r.rate, 1)) \(r.unit) | \(r.baseline) | "
            s += "\(fixed(r.baselineRate, 1)) \(r.unit) | \(fixed(r.ratio, 2)) |\n"
        }
        s += "\nthreads: \(threads)\n\(ComputeReport.current.summary)\n"
        return s
    }
}

/// A number with a fixed count of decimals (String(format:) avoided for portability).
func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    let scale = pow(10.0, Double(digits))
    let r = (x * scale).rounded() / scale
    var text = "\(r)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        if digits == 0 { text = String(text[..<dot]) }
    } else if digits > 0 {
        text += "." + String(repeating: "0", count: digits)
    }
    return text
}
