// `minimind-v serve`: an OpenAI-compatible HTTP server (chat completions, streamed or not, with
// images as data URLs) and a chat page at `/`, decoding concurrent requests in one continuous batch.
import ArgumentParser
import Foundation
import MiniMindV
import MiniMindVServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over HTTP: OpenAI's /v1/chat/completions, /v1/models, /health, /metrics and a chat page at /.",
        discussion: """
            Binds to 127.0.0.1 unless --host says otherwise. The sampling flags set the defaults for
            requests that leave a field out (--max-new-tokens: max_tokens). SIGINT/SIGTERM stop
            accepting connections, let running answers finish, and exit 0. See Docs/Serving.md.
            """)

    @OptionGroup var modelOptions: ModelLoadingOptions
    @OptionGroup var sampling: SamplingFlags

    @Option(help: "Address to bind (0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0 picks a free one).")
    var port = 8080

    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1/* (default: MINIMIND_API_KEY, else none).")
    var apiKey: String?

    @Option(name: .customLong("max-batch"), help: "Most requests decoded together (KV caches allocated).")
    var maxBatch = 8

    @Option(name: .customLong("max-queue"), help: "Most requests waiting for a batch slot; more get HTTP 429.")
    var maxQueue = 32

    @Option(help: "Tokens per request (prompt + answer).")
    var context = 2048

    @Option(name: .customLong("prefix-cache"),
            help: "Prompt tokens whose keys and values are kept for requests that begin alike (system turn, earlier turns); 0 = off.")
    var prefixCache = 4096

    @Option(help: "Threads for BLAS and Swift kernels (default: all cores or MINIMIND_THREADS).")
    var threads: Int?

    @Option(name: .customLong("allow-files"), help: "A folder whose image files requests may name by path or file:// URL.")
    var allowFiles: String?

    @Option(name: .customLong("model-name"), help: "The model id clients send (default: the model folder's or weight file's name).")
    var modelName: String?

    func validate() throws {
        if let problem = serverOptions().problem() { throw ValidationError(problem) }
        if let allowFiles {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: allowFiles, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--allow-files must be an existing folder, found '\(allowFiles)'")
            }
        }
    }

    /// The server's settings; request defaults come from `bundle`'s generation_config.json under the flags given.
    func serverOptions(bundle: VLMBundle? = nil) -> ServerOptions {
        let source = modelOptions.model ?? modelOptions.weights ?? "minimind-v"
        var name = modelName ?? URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        if name.isEmpty { name = "minimind-v" }
        var options = ServerOptions(modelName: name)
        options.host = host
        options.port = port
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["MINIMIND_API_KEY"]
        options.maxBatch = maxBatch
        options.maxQueue = maxQueue
        options.context = context
        options.prefixCacheTokens = prefixCache
        options.allowFiles = allowFiles.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
        options.defaults = sampling.options(for: bundle)
        return options
    }

    func run() async throws {
        try InputRange.setThreads(threads)
        let bundle = try modelOptions.loadForGeneration(sampling)
        let options = serverOptions(bundle: bundle)
        let server = try MiniMindServer(generator: Generator(bundle: bundle), options: options)
        try await server.run { port in
            printError("minimind-v serve: model '\(options.modelName)' on http://\(options.host):\(port)/ "
                       + "(batch \(options.maxBatch), queue \(options.maxQueue), context \(options.context)\(options.apiKey == nil ? "" : ", API key required"))")
        }
        printError("minimind-v serve: stopped")
    }
}
