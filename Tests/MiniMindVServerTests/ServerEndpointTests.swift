import Foundation
import MiniMindTokenizer
import XCTest
@testable import MiniMindV
@testable import MiniMindVServer

/// The endpoints against a tiny model on loopback. Reference: `Generator.generate` (one sequence,
/// no server), whose greedy ids equal transformers' (GenerationParityTests).
final class ServerEndpointTests: XCTestCase {
    static let question = "describe the picture please"

    func body(_ messages: [[String: Any]], maxTokens: Int = 12, extra: [String: Any] = [:]) -> [String: Any] {
        var b: [String: Any] = ["model": "tiny-vlm", "messages": messages, "temperature": 0, "max_tokens": maxTokens]
        for (k, v) in extra { b[k] = v }
        return b
    }

    func testNonStreamedAndStreamedAnswersEqualTheGenerator() async throws {
        let generator = try ServerTestModel.generator()
        let server = try await RunningServer(generator: generator) { $0.apiKey = "sk-test" }
        defer { Task { try? await server.stop() } }
        let reference = try generator.reference([.user(Self.question)], maxTokens: 12)

        let (status, reply) = try await server.json("/v1/chat/completions", body: body([["role": "user", "content": Self.question]]))
        XCTAssertEqual(status, 200, "\(reply)")
        XCTAssertEqual(reply["object"] as? String, "chat.completion")
        XCTAssertEqual(reply["model"] as? String, "tiny-vlm")
        XCTAssertTrue((reply["id"] as? String)?.hasPrefix("chatcmpl-") ?? false)
        let choice = try XCTUnwrap((reply["choices"] as? [[String: Any]])?.first)
        let message = try XCTUnwrap(choice["message"] as? [String: Any])
        XCTAssertEqual(message["role"] as? String, "assistant")
        XCTAssertEqual(message["content"] as? String, reference.text)
        XCTAssertEqual(choice["finish_reason"] as? String, reference.finishReason == .eos ? "stop" : "length")
        let usage = try XCTUnwrap(reply["usage"] as? [String: Any])
        let promptTokens = try generator.assembler.assemble([.user(Self.question)], images: []).ids.count
        XCTAssertEqual(usage["prompt_tokens"] as? Int, promptTokens)
        XCTAssertEqual(usage["completion_tokens"] as? Int, reference.ids.count)
        XCTAssertEqual(usage["total_tokens"] as? Int, promptTokens + reference.ids.count)
        XCTAssertEqual((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int, 0, "the first request")

        let events = try await server.stream(body([["role": "user", "content": Self.question]],
                                                  extra: ["stream_options": ["include_usage": true]]))
        let streamed = try RunningServer.assemble(events)
        XCTAssertEqual(streamed.text, reference.text, "streamed output equals the non-streamed one")
        XCTAssertEqual(streamed.finish, choice["finish_reason"] as? String)
        XCTAssertEqual(streamed.usage?["prompt_tokens"] as? Int, promptTokens)
        XCTAssertEqual(streamed.usage?["completion_tokens"] as? Int, reference.ids.count)
        // The same prompt again: all but its last token come from the prefix cache.
        XCTAssertEqual((streamed.usage?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int, promptTokens - 1)
        XCTAssertGreaterThan(events.count, 4, "one chunk per token")

        // Without include_usage: no usage chunk.
        let plain = try RunningServer.assemble(try await server.stream(body([["role": "user", "content": Self.question]])))
        XCTAssertNil(plain.usage)
        XCTAssertEqual(plain.text, reference.text)

        let (modelsStatus, models) = try await server.json("/v1/models", method: .GET)
        XCTAssertEqual(modelsStatus, 200)
        XCTAssertEqual(((models["data"] as? [[String: Any]])?.first)?["id"] as? String, "tiny-vlm")
        let (healthStatus, health) = try await server.json("/health", method: .GET, key: .some(nil))
        XCTAssertEqual(healthStatus, 200)
        XCTAssertEqual(health["status"] as? String, "ok")
        let (pageStatus, pageHeaders, page) = try await server.send("/", method: .GET, key: .some(nil))
        XCTAssertEqual(pageStatus, 200)
        XCTAssertEqual(pageHeaders.first(name: "content-type"), "text/html; charset=utf-8")
        XCTAssertTrue(page.contains("/v1/chat/completions") && !page.contains("http://") && !page.contains("https://"),
                      "the page talks to the API and loads nothing from elsewhere")
        let (metricsStatus, _, metrics) = try await server.send("/metrics", method: .GET)
        XCTAssertEqual(metricsStatus, 200)
        XCTAssertTrue(metrics.contains("minimind_requests_total{outcome=\"ok\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("minimind_time_to_first_token_seconds_count 3"), metrics)
        // The second and third requests repeat the first's prompt: all but its last token were cached.
        XCTAssertTrue(metrics.contains("minimind_prompt_tokens_cached_total \(2 * (promptTokens - 1))"), metrics)
    }

    func testStopStringCutsTheAnswer() async throws {
        let generator = try ServerTestModel.generator()
        let server = try await RunningServer(generator: generator)
        defer { Task { try? await server.stop() } }
        let full = try generator.reference([.user(Self.question)], maxTokens: 16)
        let chars = Array(full.text)
        guard chars.count >= 8 else { return XCTFail("the tiny model's answer is too short to hold a stop string: \(full.text)") }
        let stop = String(chars[4..<6])
        let expected = try generator.reference([.user(Self.question)], maxTokens: 16, stop: [stop, "never-there"])
        XCTAssertEqual(expected.finishReason, .stopString)
        XCTAssertEqual(expected.text, String(full.text[..<full.text.range(of: stop)!.lowerBound]))

        let messages: [[String: Any]] = [["role": "user", "content": Self.question]]
        let (status, reply) = try await server.json("/v1/chat/completions", body: body(messages, maxTokens: 16, extra: ["stop": [stop, "never-there"]]))
        XCTAssertEqual(status, 200)
        let choice = try XCTUnwrap((reply["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual((choice["message"] as? [String: Any])?["content"] as? String, expected.text)
        XCTAssertEqual(choice["finish_reason"] as? String, "stop")
        let streamed = try RunningServer.assemble(try await server.stream(body(messages, maxTokens: 16, extra: ["stop": stop])))
        XCTAssertEqual(streamed.text, expected.text)
        XCTAssertEqual(streamed.finish, "stop")
    }

    func testImagesAsDataURLsAndMultiTurn() async throws {
        let generator = try ServerTestModel.generator()
        let server = try await RunningServer(generator: generator)
        defer { Task { try? await server.stop() } }
        let png = try ServerTestModel.picture(seed: 1).pngData(), jpeg = try ServerTestModel.picture(seed: 2).jpegData()
        // The reference decodes the same bytes (JPEG is lossy: compare with its decoded pixels).
        let pngImage = try RGBImage(data: png), jpegImage = try RGBImage(data: jpeg)
        func url(_ data: Data, _ mime: String) -> [String: Any] {
            ["type": "image_url", "image_url": ["url": "data:\(mime);base64,\(data.base64EncodedString())"]]
        }
        let parts: [[String: Any]] = [url(png, "image/png"), url(jpeg, "image/jpeg"), ["type": "text", "text": "what is in this image"]]
        let firstQuestion = "<image>\n<image>\nwhat is in this image"  // each image part becomes a marker
        let first = try generator.reference([.user(firstQuestion)], images: [pngImage, jpegImage], maxTokens: 10)
        let (status, reply) = try await server.json("/v1/chat/completions", body: body([["role": "user", "content": parts]], maxTokens: 10))
        XCTAssertEqual(status, 200, "\(reply)")
        let answer = try XCTUnwrap(((reply["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
        XCTAssertEqual(answer, first.text)

        // A second turn: the whole conversation, both images again (their features come from the cache).
        let messages: [[String: Any]] = [
            ["role": "system", "content": "you see pictures"],
            ["role": "user", "content": parts],
            ["role": "assistant", "content": answer],
            ["role": "user", "content": [["type": "text", "text": "the sky is blue"]]],
        ]
        let second = try generator.reference([.system("you see pictures"), .user(firstQuestion), .assistant(answer), .user("the sky is blue")],
                                             images: [pngImage, jpegImage], maxTokens: 10)
        let streamed = try RunningServer.assemble(try await server.stream(body(messages, maxTokens: 10)))
        XCTAssertEqual(streamed.text, second.text)
        let cache = server.server.scheduler.imageFeatures
        XCTAssertEqual(cache.misses, 2, "each distinct image is encoded once")
        XCTAssertEqual(cache.hits, 2)
    }
}
