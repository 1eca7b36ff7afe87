import AsyncHTTPClient
import Foundation
import MiniMindV
import NIOCore

/// N concurrent streaming clients against a running server over HTTP (`minimind-v bench serve`):
/// every client sends a different greedy question with `ignore_eos` at the same moment (a burst), so
/// each answer is exactly `tokens` long, and the run reports aggregate tokens/s, time to first token
/// and the time between streamed chunks as the clients see them (HTTP, SSE framing and JSON included).
/// With `requestsPerClient` R > 1 the run is N steady streams instead: client i starts i/N of one
/// answer's time after client 0 and sends its R requests one after another, so requests arrive
/// spread out while about N streams run, as at a server with N users.
public struct ServeBenchmark: Sendable {
    /// One line of the table.
    public struct Row: Sendable, Codable {
        public let clients: Int
        /// Requests each client sent one after another (1: one burst of `clients` requests).
        public var requestsPerClient = 1
        /// Completion tokens of all clients over the wall time from the first request to the last answer.
        public let tokensPerSecond: Double
        public let ttftP50: Double, ttftP95: Double
        /// Seconds between content chunks at the client (chunks read together count as 0).
        public let gapP50: Double, gapP95: Double
        public let tokens: Int
        /// The server's peak resident memory during the run, when known.
        public let peakRSSMB: Double?
    }

    public enum Failure: Error, CustomStringConvertible {
        case status(Int, String)
        case noModel(String)
        case serverDidNotStart(String)
        public var description: String {
            switch self {
            case let .serverDidNotStart(why): return why
            case let .status(code, body): return "the server answered HTTP \(code): \(body.prefix(300))"
            case let .noModel(body): return "GET /v1/models listed no model: \(body.prefix(300))"
            }
        }
    }

    public static let questions = ["Describe the image.", "What is in this picture?", "What colours do you see?",
                                   "Where is the largest shape?", "Tell me about the image.", "What shapes are there?",
                                   "Is there a circle?", "What is at the centre?"]

    /// e.g. http://127.0.0.1:8080
    public let base: String
    public var tokens = 64
    /// A data URL sent with every question, or nil for text-only questions.
    public var image: String?
    public var apiKey: String?
    /// Requests per client; above 1, steady staggered streams instead of one burst (see the type).
    public var requestsPerClient = 1

    public init(base: String) { self.base = base }

    private struct Sample: Sendable { let ttft: Double; let gaps: [Double]; let tokens: Int; let end: Double }

    /// The model id the server lists first (`GET /v1/models`).
    public func modelName(_ client: HTTPClient) async throws -> String {
        let (status, body) = try await send(client, path: "/v1/models", body: nil)
        guard status == 200 else { throw Failure.status(status, body) }
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        guard let id = (object?["data"] as? [[String: Any]])?.first?["id"] as? String else { throw Failure.noModel(body) }
        return id
    }

    /// One warm-up request (image features cached), then a row per entry of `clients`, each handed
    /// to `onRow` as soon as it is measured. `rss` (the server's memory in MB) is polled every 50 ms.
    public func run(clients: [Int], rss: @escaping @Sendable () -> Double? = { nil },
                    onRow: (Row) -> Void = { _ in }) async throws -> [Row] {
        // One connection per concurrent client: AsyncHTTPClient's default pool (8 per host) would
        // queue the 9th client's request behind a finished stream and count that wait as TTFT.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, (clients.max() ?? 1) + 1)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let model = try await modelName(client)
            let warmUp = try await measure(clients: 1, model: model, client: client)
            // Steady streams start one answer's time apart in all (the warm-up's answer time, its
            // first token included), so their requests stay spread over the answer's length.
            let answerSeconds = warmUp.tokensPerSecond > 0 ? Double(warmUp.tokens) / warmUp.tokensPerSecond : 0
            var rows: [Row] = [], sent = 1
            for n in clients {
                let stagger = requestsPerClient > 1 ? answerSeconds / Double(n) : 0
                rows.append(try await measure(clients: n, requestsPerClient: requestsPerClient, stagger: stagger,
                                              model: model, client: client, firstRequest: sent, rss: rss))
                sent += n * requestsPerClient
                onRow(rows[rows.count - 1])
            }
            try await client.shutdown()
            return rows
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// `clients` clients, each sending `requestsPerClient` requests one after another, client i
    /// starting `i · stagger` seconds after the first (0: all at once); requests are numbered from
    /// `firstRequest`; `rss` is polled every 50 ms for the peak memory.
    public func measure(clients: Int, requestsPerClient: Int = 1, stagger: Double = 0, model: String, client: HTTPClient,
                        firstRequest: Int = 0, rss: @escaping @Sendable () -> Double? = { nil }) async throws -> Row {
        let start = monotonicSeconds()
        let peak = Task { () -> Double? in
            var peak: Double?
            while !Task.isCancelled {
                if let now = rss() { peak = max(peak ?? 0, now) }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
            return peak
        }
        let samples = try await withThrowingTaskGroup(of: [Sample].self) { group in
            for i in 0..<clients {
                group.addTask {
                    if i > 0 && stagger > 0 { try await Task.sleep(nanoseconds: UInt64(Double(i) * stagger * 1e9)) }
                    var mine: [Sample] = []
                    for r in 0..<requestsPerClient {
                        let number = firstRequest + i * requestsPerClient + r
                        mine.append(try await one(client, model: model, question: i, number: number))
                    }
                    return mine
                }
            }
            var all: [Sample] = []
            for try await s in group { all += s }
            return all
        }
        peak.cancel()
        let wall = (samples.map(\.end).max() ?? start) - start
        let total = samples.reduce(0) { $0 + $1.tokens }
        let ttft = samples.map(\.ttft), gaps = samples.flatMap(\.gaps)
        return Row(clients: clients, requestsPerClient: requestsPerClient, tokensPerSecond: wall > 0 ? Double(total) / wall : 0,
                   ttftP50: Self.percentile(ttft, 50), ttftP95: Self.percentile(ttft, 95),
                   gapP50: Self.percentile(gaps, 50), gapP95: Self.percentile(gaps, 95), tokens: total,
                   peakRSSMB: await peak.value)
    }

    /// The request body of client `i`: greedy, `ignore_eos`, streamed with usage. The question is
    /// numbered (`number`: request `number` of the run) so that no two requests of a run share more
    /// than the chat template's system turn: a server's prefix cache must not see a question again.
    func body(model: String, question i: Int, number: Int) throws -> String {
        let q = "\(number). " + Self.questions[i % Self.questions.count]
        let content: Any = image.map { [["type": "image_url", "image_url": ["url": $0]], ["type": "text", "text": q]] } ?? q
        let body: [String: Any] = ["model": model, "messages": [["role": "user", "content": content]], "max_tokens": tokens,
                                   "temperature": 0, "ignore_eos": true, "stream": true, "stream_options": ["include_usage": true]]
        return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    /// `label`: with `ServeTrace` on, sent as X-Trace so that the server's trace lines name the request.
    private func request(_ path: String, body: String?, label: Int? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: base + path)
        if ServeTrace.isOn, let label { request.headers.add(name: "X-Trace", value: "\(label)") }
        if let body {
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        return request
    }

    private func send(_ client: HTTPClient, path: String, body: String?) async throws -> (Int, String) {
        let response = try await client.execute(request(path, body: body), timeout: .seconds(600))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// One streamed answer, stamping each SSE event with content as it is read.
    private func one(_ client: HTTPClient, model: String, question: Int, number: Int) async throws -> Sample {
        let start = monotonicSeconds()
        ServeTrace.mark("client sent t=\(number)")
        let response = try await client.execute(request("/v1/chat/completions",
                                                        body: try body(model: model, question: question, number: number), label: number),
                                                timeout: .seconds(600))
        guard response.status.code == 200 else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            throw Failure.status(Int(response.status.code), String(buffer: bytes))
        }
        var stamps: [Double] = [], tokens = 0, pending: [UInt8] = []
        for try await buffer in response.body {
            pending += buffer.readableBytesView
            let now = monotonicSeconds()
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[..<newline]
                pending.removeSubrange(...newline)
                guard line.starts(with: Array("data: {".utf8)) else { continue }
                guard let chunk = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6))) as? [String: Any] else { continue }
                if let usage = chunk["usage"] as? [String: Any], let n = usage["completion_tokens"] as? Int { tokens = n; continue }
                let choice = (chunk["choices"] as? [[String: Any]])?.first
                if let text = (choice?["delta"] as? [String: Any])?["content"] as? String, !text.isEmpty {
                    if stamps.isEmpty { ServeTrace.mark("client first t=\(number)") }
                    stamps.append(now)
                }
            }
        }
        let gaps = zip(stamps, stamps.dropFirst()).map { $1 - $0 }
        return Sample(ttft: (stamps.first ?? .nan) - start, gaps: gaps, tokens: tokens, end: monotonicSeconds())
    }

    /// The value at rank round(q/100 · (n − 1)) of the sorted values, halves to even (NaN for none).
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.filter { !$0.isNaN }.sorted()  // a client that saw no text has no first-token time
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((q / 100 * Double(sorted.count - 1)).rounded(.toNearestOrEven)))]
    }

    /// The markdown table's header and a row.
    public static let tableHeader = """
        | clients | tokens/s (aggregate) | TTFT p50 / p95 (s) | between tokens p50 / p95 (ms) | tokens | server RSS (MB) |
        |---|---|---|---|---|---|
        """

    public static func tableLine(_ r: Row) -> String {
        func f(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
        let rss = r.peakRSSMB.map { f($0, 0) } ?? "—"
        let clients = r.requestsPerClient > 1 ? "\(r.clients) steady × \(r.requestsPerClient)" : "\(r.clients)"
        return "| \(clients) | \(f(r.tokensPerSecond, 1)) | \(f(r.ttftP50, 3)) / \(f(r.ttftP95, 3)) | "
            + "\(f(1000 * r.gapP50, 1)) / \(f(1000 * r.gapP95, 1)) | \(r.tokens) | \(rss) |"
    }
}
