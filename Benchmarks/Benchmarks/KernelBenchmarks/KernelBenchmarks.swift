import Benchmark
import MiniMindV

/// The tensor kernels at the real model shapes (the same list as `minimind-v bench kernels`).
let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                         maxDuration: .seconds(3), maxIterations: 200)
    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randn(shape, std: 0.5, generator: &g)
    }

    for (m, k, n) in [(196, 768, 768), (640, 512, 1536), (640, 512, 6400), (1, 512, 6400)] {
        let x = random([m, k], seed: 1), w = random([n, k], seed: 2)
        Benchmark("linear \(m)x\(k)x\(n)", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(noGrad { linear(x, weight: w) }) }
        }
    }

    let q = random([1, 8, 640, 64], seed: 3), k = random([1, 8, 640, 64], seed: 4), v = random([1, 8, 640, 64], seed: 5)
    Benchmark("attention causal 8h x 640 x 64", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(noGrad { scaledDotProductAttention(q: q, k: k, v: v, causal: true) }) }
    }

    let x = random([640, 512], seed: 6), weight = Tensor.ones([512])
    Benchmark("rmsnorm 640x512", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(noGrad { rmsNorm(x, weight: weight, eps: 1e-5) }) }
    }

    let logits = random([640, 6400], seed: 7)
    logits.requiresGrad = true
    var g = SeededGenerator(seed: 8)
    let targets = (0..<640).map { _ in Int(g.next() % 6400) }
    Benchmark("softmax-cross-entropy fwd+bwd 640x6400", configuration: config) { benchmark in
        for _ in benchmark.scaledIterations {
            crossEntropy(logits: logits, targets: targets).backward()
            logits.zeroGrad()
        }
    }
}
