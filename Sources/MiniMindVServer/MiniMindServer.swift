import Foundation
import Hummingbird
import Logging
import MiniMindTokenizer
import MiniMindV
import NIOCore
import ServiceLifecycle

/// The OpenAI-compatible HTTP server around one model: `POST /v1/chat/completions`, `GET /v1/models`,
/// `GET /health`, `GET /metrics` and the chat page at `/`. Requests share one continuous batch
/// (`Scheduler`); errors come back in OpenAI's `{"error": {…}}` shape.
public final class MiniMindServer: Sendable {
    public let options: ServerOptions
    let generator: Generator
    let scheduler: Scheduler
    let metrics = ServerMetrics()

    public init(generator: Generator, options: ServerOptions) throws {
        if let problem = options.problem() { throw ServerError.invalidOption(problem) }
        self.generator = generator
        self.options = options
        let batch = ContinuousBatch(generator: generator, capacity: options.maxBatch, contextLength: options.context,
                                    prefillChunk: options.prefillChunk,
                                    prefixCache: options.prefixCacheTokens > 0 ? PrefixCache(tokenLimit: options.prefixCacheTokens) : nil)
        scheduler = Scheduler(batch: batch, maxQueue: options.maxQueue, metrics: metrics, gatherSeconds: options.burstGatherSeconds)
    }

    /// The Hummingbird application; `onRunning` receives the bound port (useful with port 0).
    public func application(logger: Logger? = nil, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        scheduler.start()
        var log = logger ?? Logger(label: "minimind-v.serve")
        if logger == nil { log.logLevel = .notice }
        let scheduler = self.scheduler
        return Application(router: router(),
                           server: .http1(configuration: .init(additionalChannelHandlers: [ArrivalWatch(scheduler: scheduler)])),
                           configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port),
                                                                   serverName: "minimind-v"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
                           logger: log)
    }

    /// Serves until SIGINT or SIGTERM: then stops accepting, lets the running answers finish, and returns.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = application(onRunning: onRunning)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        scheduler.shutdown()
    }

    /// Lets admitted requests finish and stops the scheduler thread (after the application returned).
    public func shutdown() { scheduler.shutdown() }

    func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: OpenAIErrorMiddleware())
        router.add(middleware: ArrivalMiddleware(scheduler: scheduler))
        let handler = ChatCompletionHandler(generator: generator, scheduler: scheduler, options: options, metrics: metrics)
        let name = options.modelName, scheduler = self.scheduler, metrics = self.metrics
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: ChatPage.html)))
        }
        router.get("/health") { _, _ in
            let load = scheduler.load
            return Self.json(["status": "ok", "model": .string(name), "requests": .int(load),
                              "capacity": .int(scheduler.capacity), "max_queue": .int(scheduler.maxQueue)])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.text)))
        }
        let v1 = router.group("v1").add(middleware: APIKeyMiddleware(key: options.apiKey))
        let model: OrderedJSON = ["id": .string(name), "object": "model", "created": 0, "owned_by": "minimind-v"]
        v1.get("models") { _, _ in Self.json(["object": "list", "data": [model]]) }
        v1.get("models/:id") { _, context in
            guard context.parameters.get("id") == name else {
                throw OpenAIError(status: .notFound, message: "The model '\(context.parameters.get("id") ?? "")' does not exist",
                                  param: "model", code: "model_not_found")
            }
            return Self.json(model)
        }
        v1.post("chat/completions") { request, context in try await handler.respond(to: request, connection: context.connection) }
        return router
    }

    static func json(_ value: OrderedJSON) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: value.pythonJSON)))
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case invalidOption(String)
    public var description: String {
        switch self {
        case .invalidOption(let why): return why
        }
    }
}

/// `Authorization: Bearer KEY` on `/v1/*` when the server has a key (401 otherwise).
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let key: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw OpenAIError(status: .unauthorized, message: "missing API key: send 'Authorization: Bearer KEY'", code: "invalid_api_key")
        }
        let given = header.hasPrefix("Bearer ") ? String(header.dropFirst("Bearer ".count)) : ""
        // Compare every byte whatever the first difference, so timing does not reveal the key.
        let a = Array(given.utf8), b = Array(key.utf8)
        var diff = a.count ^ b.count
        for i in 0..<max(a.count, b.count) { diff |= Int((i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)) }
        guard diff == 0 else { throw OpenAIError(status: .unauthorized, message: "incorrect API key provided", code: "invalid_api_key") }
        return try await next(request, context)
    }
}

/// Every error as OpenAI's JSON: ours as they are, the router's (404, 405, 413) with their status.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            var headers: HTTPFields = [:]
            if error.status == .tooManyRequests { headers[.retryAfter] = "1" }
            return error.response(headers: headers)
        } catch let error as HTTPResponseError {
            let message = error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : error.status.reasonPhrase
            return OpenAIError(status: error.status, message: message,
                               type: error.status.code >= 500 ? "server_error" : "invalid_request_error").response()
        }
    }
}
