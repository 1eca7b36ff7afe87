import Benchmark
import MiniMindV

/// The model tests of `minimind-v bench model` (img-encode, pp512, tg128) for the two presets the
/// performance targets name, with random weights.
let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
                                         warmupIterations: 1, maxDuration: .seconds(10), maxIterations: 10)
    for preset in [VLMPreset.minimind2SmallV, .minimind3V] {
        guard let model = try? MiniMindVLM(config: preset.config, seed: 0) else { continue }
        let lm = model.language
        let size = preset.config.vision.imageSize
        var g = SeededGenerator(seed: 0)
        let pixels = Tensor.randn([1, 3, size, size], generator: &g)
        let ids = (0..<512).map { 3 + ($0 * 7919) % 6000 }

        Benchmark("\(preset.rawValue) img-encode", configuration: config) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(model.visionFeatures(pixels)) }
        }

        Benchmark("\(preset.rawValue) pp512", configuration: config) { benchmark in
            let cache = lm.makeCache(batch: 1, maxLength: 512)
            for _ in benchmark.scaledIterations {
                cache.reset()
                blackHole(noGrad { lm.logits(embeddings: lm.embed(ids, batch: 1), cache: cache, keyMask: nil, positions: .last) })
            }
        }

        Benchmark("\(preset.rawValue) tg128", configuration: config) { benchmark in
            let cache = lm.makeCache(batch: 1, maxLength: 16 + 128)
            for _ in benchmark.scaledIterations {
                cache.reset()
                noGrad {
                    var logits = lm.logits(embeddings: lm.embed(Array(ids[0..<16]), batch: 1), cache: cache, keyMask: nil, positions: .last)
                    for _ in 0..<128 {
                        let next = logits.argmax(axis: -1).first ?? 0
                        logits = lm.logits(embeddings: lm.embed([next], batch: 1), cache: cache, keyMask: nil, positions: .last)
                    }
                }
            }
        }
    }
}
