import Foundation
import Hummingbird
import MiniMindTokenizer
import MiniMindV
import NIOCore

/// `POST /v1/chat/completions`: body → checked request → prompt ids → the scheduler → a
/// `chat.completion` object or an SSE stream of `chat.completion.chunk`s ending with `data: [DONE]`.
struct ChatCompletionHandler: Sendable {
    let generator: Generator
    let scheduler: Scheduler
    let options: ServerOptions
    let metrics: ServerMetrics

    /// `connection`: the one the request came on (its arrival count is taken over here).
    func respond(to request: Request, connection: ObjectIdentifier) async throws -> Response {
        let arrival = monotonicSeconds()
        // `bench serve` labels its requests (X-Trace) so that a trace pairs its lines with the client's.
        let label = ServeTrace.isOn ? request.headers.first { $0.name.canonicalName == "x-trace" }?.value ?? "-" : ""
        ServeTrace.mark("handler t=\(label) conn=\(connection.hashValue)")
        scheduler.announce()  // an idle batch waits for this request to join its first step
        scheduler.settle(connection: connection)  // counted from its connection's accept until now
        var counted = true  // until `submit` takes the count over
        defer { if counted { scheduler.settle() } }
        let parsed: (ChatRequest, [Int], Int)
        do {
            parsed = try await parse(request)
        } catch {
            metrics.request(ok: false)
            throw error
        }
        let (chat, ids, maxTokens) = parsed
        ServeTrace.mark("parsed t=\(label) ids=\(ids.count)")
        var sampling = chat.options
        sampling.maxNewTokens = maxTokens
        let submission: Scheduler.Submission
        do {
            counted = false
            submission = try scheduler.submit(ids: ids, images: chat.images, options: sampling, streamed: chat.stream, announced: true)
        } catch {
            metrics.request(ok: false)
            throw OpenAIError(status: .tooManyRequests, message: "the server is busy (\(scheduler.capacity) decoding, "
                              + "\(scheduler.maxQueue) queued): retry shortly", type: "rate_limit_error", code: "rate_limit_exceeded")
        }
        metrics.prompt(ids.count)
        ServeTrace.mark("submitted t=\(label) job=\(submission.id)")
        let json = CompletionJSON(model: options.modelName)
        let timing = TokenTiming(arrival: arrival, metrics: metrics)
        let updates = submission.updates
        if !chat.stream {
            defer { submission.cancel() }  // a no-op once finished
            var outcome: GenerationResult?, failure: String?
            for await update in updates {
                switch update {
                case .text: timing.token()
                case let .finished(result): outcome = result
                case let .failed(message): failure = message
                }
            }
            guard let outcome else {
                metrics.request(ok: false)
                throw OpenAIError(status: .internalServerError, message: failure ?? "generation ended early", type: "server_error")
            }
            timing.finish(tokens: outcome.ids.count)
            metrics.request(ok: true)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: json.completion(outcome, promptTokens: ids.count).pythonJSON)))
        }
        let includeUsage = chat.includeUsage, metrics = self.metrics, promptTokens = ids.count
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            func send(_ text: String) async throws { try await writer.write(ByteBuffer(string: text)) }
            var ok = false
            var wroteFirst = false
            defer {
                metrics.request(ok: ok)
                submission.cancel()  // the client is gone (a write threw): free the slot; a no-op once finished
            }
            try await send(CompletionJSON.event(json.chunk(delta: ["role": "assistant", "content": "", "refusal": .null], includeUsage: includeUsage)))
            for await update in updates {
                switch update {
                case let .text(piece):
                    timing.token()
                    try await send(CompletionJSON.event(json.chunk(delta: ["content": .string(piece)], includeUsage: includeUsage)))
                    if !wroteFirst {
                        wroteFirst = true
                        submission.firstTokenWritten()  // the scheduler's next step may take the cores now
                        ServeTrace.mark("first written t=\(label)")
                    }
                case let .finished(result):
                    timing.finish(tokens: result.ids.count)
                    try await send(CompletionJSON.event(json.chunk(delta: [:], finish: result.finishReason, includeUsage: includeUsage)))
                    if includeUsage {
                        try await send(CompletionJSON.event(json.usageChunk(promptTokens: promptTokens, result)))
                    }
                    ok = true
                case let .failed(message):
                    try await send(CompletionJSON.event(OpenAIError(status: .internalServerError, message: message, type: "server_error").json))
                }
            }
            try await send("data: [DONE]\n\n")
            try await writer.finish(nil)
        })
    }

    /// The checked request, its prompt ids and its token budget.
    private func parse(_ request: Request) async throws -> (ChatRequest, [Int], Int) {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: options.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw OpenAIError(status: .contentTooLarge, message: "the request body is larger than \(options.maxBodyBytes) bytes",
                              code: "request_too_large")
        }
        let json: OrderedJSON
        do {
            json = try OrderedJSON.parse(Array(body.readableBytesView))
        } catch {
            throw OpenAIError.invalid("the body is not valid JSON: \(error)", code: "invalid_json")
        }
        let config = generator.model.config
        let limits = ChatRequest.Limits(maxImages: options.maxImagesPerRequest, marker: config.imageMarker,
                                        images: ImageInput(allowedFolder: options.allowFiles, maxBytes: options.maxImageBytes,
                                                           limits: options.imageLimits))
        let chat = try ChatRequest(json: json, defaults: options.defaults, limits: limits)
        guard chat.model == options.modelName else {
            throw OpenAIError(status: .notFound, message: "The model '\(chat.model)' does not exist; this server has '\(options.modelName)'",
                              param: "model", code: "model_not_found")
        }
        let ids: [Int]
        do { ids = try generator.assembler.assemble(chat.messages, images: chat.images).ids } catch let error as PromptError {
            throw OpenAIError.invalid("\(error)", param: "messages", code: "invalid_prompt")
        } catch {
            throw OpenAIError.invalid("the messages cannot be rendered with the chat template: \(error)", param: "messages")
        }
        let context = scheduler.contextLength
        guard ids.count < context else {
            throw OpenAIError.invalid("the prompt is \(ids.count) tokens (images count \(config.imageTokens) each) but the context "
                                      + "holds \(context); shorten the messages or send fewer images", param: "messages",
                                      code: "context_length_exceeded")
        }
        let room = context - ids.count
        if let asked = chat.maxTokens, asked > room {
            throw OpenAIError.invalid("max_tokens is \(asked) but the prompt (\(ids.count) tokens) leaves \(room) of the \(context)-token "
                                      + "context", param: chat.maxTokensParam, code: "context_length_exceeded")
        }
        let maxTokens = chat.maxTokens ?? min(room, options.defaults.maxNewTokens)
        var sampling = chat.options
        sampling.maxNewTokens = maxTokens
        do { try scheduler.check(ids: ids, images: chat.images, options: sampling) } catch let error as GenerationError {
            throw OpenAIError.invalid("\(error)", param: "messages", code: "invalid_prompt")
        } catch let error as PromptError {
            throw OpenAIError.invalid("\(error)", param: "messages", code: "invalid_prompt")
        }
        return (chat, ids, maxTokens)
    }
}

/// Time to first token and mean time per later token of one request, into the metrics.
final class TokenTiming: @unchecked Sendable {
    private let arrival: Double  // monotonicSeconds() at arrival
    private let metrics: ServerMetrics
    private var first: Double?

    init(arrival: Double, metrics: ServerMetrics) {
        self.arrival = arrival
        self.metrics = metrics
    }

    func token() {
        guard first == nil else { return }
        let now = monotonicSeconds()
        first = now
        metrics.firstToken(after: now - arrival)
    }

    func finish(tokens: Int) {
        guard let first, tokens > 1 else { return }
        metrics.perOutputToken((monotonicSeconds() - first) / Double(tokens - 1))
    }
}
