import ArgumentParser
import Foundation
import MiniMindVBench

/// `minimind-v bench serve`: concurrent streaming clients against `minimind-v serve` over loopback
/// HTTP (Docs/Performance.md, "Serving"). The server runs as its own process — the binary given by
/// --bin, this one by default — so the clients measure what any client sees, the server's memory is
/// its own, and two builds (or a server under `perf record`) are measured by the same client.
struct ServeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serving speed: N concurrent streaming clients (tokens/s, time to first token, time between tokens).",
        discussion: """
            Starts `BIN serve --port 0 --temperature 0 [--model DIR] SERVE-ARGS` (or uses --url), then for each N in \
            --clients sends N greedy streaming requests at once (different numbered questions: only the system turn repeats, `ignore_eos`, --tokens each, one \
            --image each when given) after one warm-up request, and prints aggregate tokens/s, time to first token \
            p50/p95, the time between streamed chunks p50/p95 and the server's peak RSS. With --requests-per-client R \
            above 1, each run is N steady streams instead of one burst: client i starts i/N of the warm-up's answer time \
            after the first and sends R requests one after another (the statistics cover all N × R).
            """)

    @Option(help: "Concurrent clients per run, comma-separated.")
    var clients = "1,4,8,16"

    @Option(help: "Tokens per answer (ignore_eos: every answer is exactly this long).")
    var tokens = 64

    @Option(name: .customLong("requests-per-client"), help: "Requests each client sends one after another; above 1, staggered steady streams instead of one burst.")
    var requestsPerClient = 1

    @Option(help: "A PNG or JPEG sent with every question (the model needs its vision tower).")
    var image: String?

    @Option(help: "The model folder the server loads (serve's --model); or name the weights in --serve-args.")
    var model: String?

    @Option(name: .customLong("serve-args"), help: "More arguments for `serve`, given with = as they start with dashes: --serve-args=\"--weights W --tokenizer DIR --preset P\".")
    var serveArgs = "--max-batch 16 --max-queue 64"

    @Option(help: "The minimind-v binary that serves (default: this one), e.g. another build or a wrapper running `perf record`.")
    var bin: String?

    @Option(help: "Measure a server already running at this address (http://HOST:PORT) instead of starting one.")
    var url: String?

    @Option(name: .customLong("api-key"), help: "Sent as 'Authorization: Bearer KEY'.")
    var apiKey: String?

    @Flag(help: "Print JSON instead of a markdown table.")
    var json = false

    func counts() throws -> [Int] {
        let parts = clients.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { part in
            guard let n = Int(part), (1...1024).contains(n) else {
                throw ValidationError("--clients must be numbers in 1...1024 separated by commas, found '\(part)'")
            }
            return n
        }
    }

    func validate() throws {
        _ = try counts()
        guard (1...100_000).contains(tokens) else { throw ValidationError("--tokens must be in 1...100000, found \(tokens)") }
        guard (1...10_000).contains(requestsPerClient) else {
            throw ValidationError("--requests-per-client must be in 1...10000, found \(requestsPerClient)")
        }
        if url != nil && (model != nil || bin != nil) { throw ValidationError("--url measures a running server: give no --model or --bin with it") }
        if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--url must start with http:// or https://, found '\(url)'")
        }
    }

    func run() async throws {
        var imageURL: String?
        if let image {
            let data = try Data(contentsOf: URL(fileURLWithPath: (image as NSString).expandingTildeInPath))
            imageURL = "data:image/\(data.starts(with: [0xFF, 0xD8]) ? "jpeg" : "png");base64," + data.base64EncodedString()
        }
        let server = try url == nil ? startServer() : nil
        defer { server?.stop() }
        var bench = ServeBenchmark(base: (url ?? server?.base ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "/")))
        bench.tokens = tokens
        bench.requestsPerClient = requestsPerClient
        bench.image = imageURL
        bench.apiKey = apiKey ?? ProcessInfo.processInfo.environment["MINIMIND_API_KEY"]
        let pid = server?.process.processIdentifier
        if !json { print(ServeBenchmark.tableHeader) }
        let rows = try await bench.run(clients: try counts(), rss: { pid.flatMap(Self.rssMB) }) { row in
            if !json { print(ServeBenchmark.tableLine(row)); fflush(stdout) }
        }
        if json { try printJSON(rows) }
    }

    /// A server process and the address it reported.
    final class ServerProcess {
        let process: Process
        let base: String
        init(process: Process, base: String) { self.process = process; self.base = base }
        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    /// Starts `serve` on a free port and waits (up to 2 minutes) for the address it prints on stderr.
    func startServer() throws -> ServerProcess {
        let binary = bin ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve"] + (model.map { ["--model", $0] } ?? []) + ["--port", "0", "--temperature", "0"]
            + serveArgs.split(separator: " ").map(String.init)
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let handle = pipe.fileHandleForReading
        let deadline = Date().addingTimeInterval(120)
        var text = ""
        while Date() < deadline, process.isRunning {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression) {
                // Keep draining stderr so the server never blocks on a full pipe.
                handle.readabilityHandler = { h in _ = h.availableData }
                return ServerProcess(process: process, base: String(text[range]))
            }
        }
        if process.isRunning { process.terminate() }
        throw ServeBenchmark.Failure.serverDidNotStart("`\(binary) serve` did not report its address; it wrote:\n\(text.suffix(2000))")
    }

    /// VmRSS of process `pid` in MB (nil when unreadable).
    static func rssMB(_ pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }
}
