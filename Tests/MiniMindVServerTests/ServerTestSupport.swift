import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MiniMindTokenizer
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import XCTest
@testable import MiniMindV
@testable import MiniMindVServer

/// A tiny random model (the generation tests' recipe: weights ~ N(0, 0.3) give varied greedy
/// output), a server for it on a free loopback port, and an HTTP client.
enum ServerTestModel {
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    static func generator(seed: UInt64 = 7, positions: Int = 512) throws -> Generator {
        let sentences = ["the cat sat on the mat", "a picture of a dog in the park", "what is in this image",
                         "describe the picture please", "hello world, the sky is blue", "user assistant system"]
        let tokenizer = try BPETrainer(vocabSize: 300, specialTokens: specials, minFrequency: 1)
            .train(Array(repeating: sentences, count: 3).flatMap { $0 }).makeTokenizer()
        let visionConfig = VisionConfig(kind: .clip, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2,
                                        imageSize: 32, patchSize: 16, layerNormEps: 1e-5, activation: .quickGelu)
        let pre = ImagePreprocessing(kind: .clip, resize: .shortestEdge(32), resample: .bicubic,
                                     crop: ImageSize(width: 32, height: 32), rescaleFactor: 1.0 / 255.0,
                                     mean: ImagePreprocessing.clipMean, std: ImagePreprocessing.clipStd)
        let vision = try ViTVisionEncoder(config: visionConfig, preprocessing: pre, seed: seed &+ 1)
        let lmConfig = LanguageModelConfig(vocabSize: tokenizer.vocabSize, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
                                           numKeyValueHeads: 2, headDim: 8, intermediateSize: 64, rmsNormEps: 1e-5,
                                           maxPositionEmbeddings: positions, qkNorm: false)
        let config = VLMConfig(language: lmConfig, vision: vision.config, projector: .linear, imagePlaceholder: "@",
                               imageTokenId: try XCTUnwrap(tokenizer.tokenToId("@")))
        let lm = try MiniMindLM(config: lmConfig, seed: seed)
        var g = SeededGenerator(seed: seed &+ 100)
        for (name, t) in lm.stateDict() where !name.contains("norm") {
            let p = t.mutablePointer
            for i in 0..<t.count { p[i] = 0.3 * g.nextNormal() }
        }
        let model = try MiniMindVLM(config: config, language: lm, projector: LinearProjector(visionDim: 16, hidden: 32, seed: seed &+ 2),
                                    vision: vision)
        model.eval()
        return Generator(model: model, tokenizer: tokenizer, template: ChatTemplate(kind: .minimind2))
    }

    /// A small picture (a gradient with a square), different per `seed`.
    static func picture(width: Int = 40, height: Int = 36, seed: Int = 0) throws -> RGBImage {
        var px = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                px[i] = UInt8((x * 255 / width + seed * 40) % 256)
                px[i + 1] = UInt8((y * 255 / height) % 256)
                px[i + 2] = abs(x - width / 2) < 6 + seed && abs(y - height / 2) < 6 ? 255 : UInt8((seed * 90) % 256)
            }
        }
        return try RGBImage(width: width, height: height, pixels: px)
    }
}

/// A server running in a ServiceGroup on a free port, and a client for it.
final class RunningServer: @unchecked Sendable {
    let server: MiniMindServer
    let group: ServiceGroup
    let task: Task<Void, Error>
    let port: Int
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    let key: String?

    init(generator: Generator, configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        var options = ServerOptions(modelName: "tiny-vlm")
        options.port = 0
        configure(&options)
        key = options.apiKey
        server = try MiniMindServer(generator: generator, options: options)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = server.application(logger: logger) { port in portContinuation.yield(port) }
        group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let group = self.group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        server.shutdown()
        try await client.shutdown()
    }

    func request(_ path: String, method: HTTPMethod = .POST, body: String? = nil, key: String?? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let key = key ?? self.key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        return request
    }

    /// Status, headers and body text.
    func send(_ path: String, method: HTTPMethod = .POST, body: String? = nil, key: String?? = nil) async throws -> (Int, HTTPHeaders, String) {
        let response = try await client.execute(request(path, method: method, body: body, key: key), timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), response.headers, String(buffer: bytes))
    }

    func json(_ path: String, method: HTTPMethod = .POST, body: Any? = nil, key: String?? = nil) async throws -> (Int, [String: Any]) {
        let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        let (status, _, reply) = try await send(path, method: method, body: text, key: key)
        let object = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any]
        return (status, try XCTUnwrap(object, "not a JSON object: \(reply)"))
    }

    /// The `data:` payloads of a streamed reply, in order ("[DONE]" included).
    func stream(_ body: [String: Any]) async throws -> [String] {
        var streamed = body
        streamed["stream"] = true
        let (status, headers, text) = try await send("/v1/chat/completions", body: String(decoding: try JSONSerialization.data(withJSONObject: streamed), as: UTF8.self))
        XCTAssertEqual(status, 200, text)
        XCTAssertEqual(headers.first(name: "content-type"), "text/event-stream")
        return Self.events(text)
    }

    static func events(_ text: String) -> [String] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            XCTAssertTrue(event.hasPrefix("data: "), "not an SSE data line: \(event)")
            return String(event.dropFirst("data: ".count))
        }
    }

    /// The answer of a stream: concatenated deltas, the finish reason, and the usage chunk if any.
    static func assemble(_ events: [String]) throws -> (text: String, finish: String?, usage: [String: Any]?) {
        XCTAssertEqual(events.last, "[DONE]")
        var text = "", finish: String?, usage: [String: Any]?
        for (i, event) in events.dropLast().enumerated() {
            let chunk = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])
            XCTAssertEqual(chunk["object"] as? String, "chat.completion.chunk")
            let choices = try XCTUnwrap(chunk["choices"] as? [[String: Any]])
            if let u = chunk["usage"] as? [String: Any] {
                XCTAssertTrue(choices.isEmpty)
                usage = u
                continue
            }
            let choice = try XCTUnwrap(choices.first)
            let delta = try XCTUnwrap(choice["delta"] as? [String: Any])
            if i == 0 { XCTAssertEqual(delta["role"] as? String, "assistant") }
            text += delta["content"] as? String ?? ""
            if let reason = choice["finish_reason"] as? String { finish = reason }
        }
        return (text, finish, usage)
    }
}

extension Generator {
    /// The reference answer: the same messages through `Generator.generate` (one sequence, no server).
    func reference(_ messages: [ChatMessage], images: [RGBImage] = [], maxTokens: Int, stop: [String] = [],
                   eos: [Int]? = nil) throws -> GenerationResult {
        try generate(try assembler.assemble(messages, images: images.map { .image($0) }),
                            options: SamplingOptions(greedy: true, maxNewTokens: maxTokens, stopStrings: stop, eosTokenIds: eos))
    }
}
