import Foundation
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`, text format 0.0.4): requests by outcome,
/// tokens in and out (and prompt tokens served by the prefix cache), requests admitted, decode batch size, step time, time to first token and
/// time per output token.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let requestsOK, requestsFailed, disconnects, promptTokens, cachedPromptTokens, completionTokens: Counter
    private let admitted, batchSize: Gauge
    private let ttft, perToken, stepSeconds: ValueHistogram

    init() {
        let latency = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        func name(_ base: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "minimind", metricName: base, unitName: unit, helpText: help)
        }
        let requests = name("requests", "total", "Chat completion requests by outcome.")
        requestsOK = registry.makeCounter(descriptor: requests, labels: [("outcome", "ok")])
        requestsFailed = registry.makeCounter(descriptor: requests, labels: [("outcome", "error")])
        disconnects = registry.makeCounter(descriptor: name("client_disconnects", "total", "Requests whose client left before the answer ended."))
        promptTokens = registry.makeCounter(descriptor: name("prompt_tokens", "total", "Prompt tokens of admitted requests."))
        cachedPromptTokens = registry.makeCounter(descriptor: name("prompt_tokens_cached", "total",
                                                                   "Prompt tokens of finished requests whose keys and values came from the prefix cache."))
        completionTokens = registry.makeCounter(descriptor: name("completion_tokens", "total", "Tokens generated."))
        admitted = registry.makeGauge(descriptor: name("requests_admitted", "", "Requests decoding or queued."))
        batchSize = registry.makeGauge(descriptor: name("batch_size", "", "Sequences in the decode batch at the last step."))
        ttft = registry.makeValueHistogram(descriptor: name("time_to_first_token", "seconds", "Request arrival to first token."), buckets: latency)
        perToken = registry.makeValueHistogram(descriptor: name("time_per_output_token", "seconds", "Mean time between tokens of a request."),
                                               buckets: latency)
        stepSeconds = registry.makeValueHistogram(descriptor: name("step", "seconds", "Duration of one scheduler step (prefill chunk + batched decode)."),
                                                  buckets: latency)
    }

    func queued(_ n: Int) { admitted.set(Double(n)) }
    func step(batchSize n: Int, seconds: Double) {
        batchSize.set(Double(n))
        stepSeconds.record(seconds)
    }
    func generated() { completionTokens.increment() }
    func disconnected() { disconnects.increment() }
    func request(ok: Bool) { (ok ? requestsOK : requestsFailed).increment() }
    func prompt(_ tokens: Int) { promptTokens.increment(by: Int64(tokens)) }
    func cachedPrompt(_ tokens: Int) { cachedPromptTokens.increment(by: Int64(tokens)) }
    func firstToken(after seconds: Double) { ttft.record(seconds) }
    func perOutputToken(_ seconds: Double) { perToken.record(seconds) }

    var text: String { registry.emitToString() }
}
