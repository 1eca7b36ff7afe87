import Foundation
import XCTest
@testable import MiniMindV
@testable import MiniMindVServer

/// Every error case answers in OpenAI's shape `{"error": {"message", "type", "param", "code"}}` with
/// the status OpenAI uses, and the server keeps answering afterwards.
final class ServerErrorTests: XCTestCase {
    func testEveryErrorCaseHasOpenAIsShape() async throws {
        let generator = try ServerTestModel.generator()
        let server = try await RunningServer(generator: generator) {
            $0.apiKey = "sk-test"
            $0.maxBodyBytes = 64 << 10
            $0.maxImagesPerRequest = 2
            $0.imageLimits = ImageDecodingLimits(maxSide: 64, maxPixels: 64 * 64)
            $0.context = 256
        }
        defer { Task { try? await server.stop() } }
        let png = try ServerTestModel.picture().pngData().base64EncodedString()
        let image: [String: Any] = ["type": "image_url", "image_url": ["url": "data:image/png;base64,\(png)"]]
        let huge = try ServerTestModel.picture(width: 100, height: 20).pngData().base64EncodedString()
        func chat(_ content: Any, _ extra: [String: Any] = [:]) -> String {
            var b: [String: Any] = ["model": "tiny-vlm", "messages": [["role": "user", "content": content]], "max_tokens": 4]
            for (k, v) in extra { b[k] = v }
            return String(decoding: try! JSONSerialization.data(withJSONObject: b), as: UTF8.self)
        }
        let cases: [(name: String, body: String, key: String??, status: Int, param: String?, code: String?)] = [
            ("malformed JSON", "{\"model\": \"tiny-vlm\", \"messages\": [", nil, 400, nil, "invalid_json"),
            ("not an object", "[1, 2]", nil, 400, nil, "invalid_json"),
            ("messages not an array", "{\"model\": \"tiny-vlm\", \"messages\": \"hi\"}", nil, 400, "messages", "invalid_type"),
            ("no messages", "{\"model\": \"tiny-vlm\"}", nil, 400, "messages", "missing_required_parameter"),
            ("temperature a string", chat("hi", ["temperature": "hot"]), nil, 400, "temperature", "invalid_type"),
            ("temperature out of range", chat("hi", ["temperature": 3]), nil, 400, "temperature", "invalid_value"),
            ("max_tokens fractional", chat("hi", ["max_tokens": 2.5]), nil, 400, "max_tokens", "invalid_type"),
            ("max_tokens zero", chat("hi", ["max_tokens": 0]), nil, 400, "max_tokens", "invalid_value"),
            ("n = 2", chat("hi", ["n": 2]), nil, 400, "n", "invalid_value"),
            ("stop a number", chat("hi", ["stop": 5]), nil, 400, "stop", "invalid_type"),
            ("stream a string", chat("hi", ["stream": "yes"]), nil, 400, "stream", "invalid_type"),
            ("content a number", chat(5), nil, 400, "messages[0].content", "invalid_type"),
            ("unknown role", "{\"model\":\"tiny-vlm\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", nil, 400, "messages[0].role", "invalid_value"),
            ("unknown part type", chat([["type": "audio"]]), nil, 400, "messages[0].content[0].type", "invalid_value"),
            ("unknown model", chat("hi", ["model": "gpt-4o"]), nil, 404, "model", "model_not_found"),
            ("http image URL", chat([["type": "image_url", "image_url": ["url": "https://example.com/a.png"]]]), nil, 400,
             "messages[0].content[0].image_url.url", "invalid_image_url"),
            ("local path without --allow-files", chat([["type": "image_url", "image_url": ["url": "/etc/passwd"]]]), nil, 400,
             "messages[0].content[0].image_url.url", "invalid_image_url"),
            ("bad base64", chat([["type": "image_url", "image_url": ["url": "data:image/png;base64,@@not base64@@"]]]), nil, 400,
             "messages[0].content[0].image_url.url", "invalid_base64"),
            ("not an image", chat([["type": "image_url", "image_url": ["url": "data:image/png;base64,\(Data("hello world".utf8).base64EncodedString())"]]]),
             nil, 400, "messages[0].content[0].image_url.url", "invalid_image"),
            ("a GIF", chat([["type": "image_url", "image_url": ["url": "data:image/gif;base64,R0lGOD"]]]), nil, 400,
             "messages[0].content[0].image_url.url", "invalid_image_format"),
            ("image over the size limit", chat([["type": "image_url", "image_url": ["url": "data:image/png;base64,\(huge)"]]]), nil, 413,
             "messages[0].content[0].image_url.url", "image_too_large"),
            ("too many images", chat([image, image, image]), nil, 400, "messages[0].content[2]", "too_many_images"),
            ("an image marker without an image", chat([image, ["type": "text", "text": "<image> twice"]]), nil, 400, "messages", "invalid_prompt"),
            ("prompt longer than the context", chat(String(repeating: "the cat sat on the mat ", count: 200)), nil, 400, "messages",
             "context_length_exceeded"),
            ("max_tokens beyond the context", chat("hi", ["max_tokens": 1000]), nil, 400, "max_tokens", "context_length_exceeded"),
            ("body over the limit", chat(String(repeating: "x", count: 70_000)), nil, 413, nil, "request_too_large"),
            ("no API key", chat("hi"), .some(nil), 401, nil, "invalid_api_key"),
            ("wrong API key", chat("hi"), "sk-wrong", 401, nil, "invalid_api_key"),
        ]
        for c in cases {
            let (status, _, text) = try await server.send("/v1/chat/completions", body: c.body, key: c.key)
            XCTAssertEqual(status, c.status, "\(c.name): \(text)")
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            let error = try XCTUnwrap(object?["error"] as? [String: Any], "\(c.name): \(text)")
            XCTAssertEqual(Set(error.keys), ["message", "type", "param", "code"], c.name)
            XCTAssertFalse((error["message"] as? String ?? "").isEmpty, c.name)
            XCTAssertEqual(error["param"] as? String, c.param, "\(c.name): \(text)")
            XCTAssertEqual(error["code"] as? String, c.code, "\(c.name): \(text)")
        }
        let (notFound, _, text) = try await server.send("/v1/completions", body: "{}")
        XCTAssertEqual(notFound, 404)
        XCTAssertNotNil((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"], text)
        // Still serving after all of that.
        let (status, reply) = try await server.json("/v1/chat/completions",
                                                    body: ["model": "tiny-vlm", "messages": [["role": "user", "content": [image, ["type": "text", "text": "hi"]]]],
                                                           "max_tokens": 3])
        XCTAssertEqual(status, 200, "\(reply)")
    }

    func testLocalFilesOnlyInsideTheAllowedFolder() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("serve-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try ServerTestModel.picture().pngData().write(to: folder.appendingPathComponent("a.png"))
        let server = try await RunningServer(generator: try ServerTestModel.generator()) { $0.allowFiles = folder }
        defer { Task { try? await server.stop() } }
        for (url, status) in [("file://\(folder.path)/a.png", 200), ("a.png", 200), ("\(folder.path)/../\(folder.lastPathComponent)/a.png", 200),
                              ("\(folder.path)/../x.png", 400), ("/etc/hostname", 400), ("missing.png", 400)] {
            let body: [String: Any] = ["model": "tiny-vlm", "max_tokens": 2,
                                       "messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": url]]]]]]
            let (got, reply) = try await server.json("/v1/chat/completions", body: body)
            XCTAssertEqual(got, status, "\(url): \(reply)")
        }
    }
}
