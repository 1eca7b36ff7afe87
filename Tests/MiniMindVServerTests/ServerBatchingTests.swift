import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniMindV
@testable import MiniMindVServer

/// Continuous batching seen from clients: concurrent streams, a client that leaves, the queue
/// limit, graceful shutdown.
final class ServerBatchingTests: XCTestCase {
    static let questions = ["the cat sat on the mat", "a picture of a dog in the park", "what is in this image",
                            "describe the picture please", "hello world, the sky is blue", "user assistant system"]

    /// 16 different prompts (some with an image), greedy: streamed concurrently through a batch of 6
    /// (requests join as others leave), each answer equals the same request run alone, and
    /// `Generator.generate`.
    func testSixteenConcurrentStreamsEqualOneByOne() async throws {
        let generator = try ServerTestModel.generator()
        let server = try await RunningServer(generator: generator) { $0.maxBatch = 6; $0.maxQueue = 16 }
        defer { Task { try? await server.stop() } }
        let png = try ServerTestModel.picture(seed: 3).pngData()
        let image: [String: Any] = ["type": "image_url", "image_url": ["url": "data:image/png;base64,\(png.base64EncodedString())"]]
        let bodies: [[String: Any]] = (0..<16).map { i in
            let question = Self.questions[i % 6] + String(repeating: " please", count: i / 6)
            let content: Any = i % 4 == 0 ? [image, ["type": "text", "text": question]] : question
            return ["model": "tiny-vlm", "messages": [["role": "user", "content": content]], "temperature": 0, "max_tokens": 8 + i]
        }
        var alone: [String] = []
        for body in bodies {
            let (status, reply) = try await server.json("/v1/chat/completions", body: body)
            XCTAssertEqual(status, 200)
            alone.append(try XCTUnwrap(((reply["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String))
        }
        let together = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (i, body) in bodies.enumerated() {
                group.addTask { (i, try RunningServer.assemble(try await server.stream(body)).text) }
            }
            var out = [String](repeating: "", count: bodies.count)
            for try await (i, text) in group { out[i] = text }
            return out
        }
        XCTAssertEqual(together, alone)
        let picture = try RGBImage(data: png)
        for (i, body) in bodies.enumerated() where i % 4 != 0 {
            let question = (body["messages"] as! [[String: Any]])[0]["content"] as! String
            XCTAssertEqual(alone[i], try generator.reference([.user(question)], maxTokens: 8 + i).text, "request \(i)")
        }
        let withImage = try generator.reference([.user("<image>\n" + Self.questions[0])], images: [picture], maxTokens: 8)
        XCTAssertEqual(alone[0], withImage.text)
        try await waitUntil { server.server.scheduler.load == 0 }
    }

    /// A client leaving mid-stream frees its slot: the queued request behind it runs, the disconnect
    /// is counted, and a request beyond batch + queue gets 429 with Retry-After.
    func testDisconnectFreesTheSlotAndTheQueueLimitAnswers429() async throws {
        // A context long enough that the first answer cannot end before its client leaves.
        let generator = try ServerTestModel.generator(positions: 32768)
        let server = try await RunningServer(generator: generator) {
            $0.maxBatch = 1
            $0.maxQueue = 1
            $0.context = 32768
            $0.defaults.eosTokenIds = []  // answers run to max_tokens
        }
        defer { Task { try? await server.stop() } }
        let long = String(decoding: try JSONSerialization.data(withJSONObject: [
            "model": "tiny-vlm", "messages": [["role": "user", "content": "hello"]], "max_tokens": 32000, "stream": true,
        ] as [String: Any]), as: UTF8.self)
        let (leave, leaveSignal) = AsyncStream.makeStream(of: Void.self)
        let first = Task {
            let response = try await server.client.execute(server.request("/v1/chat/completions", body: long), timeout: .seconds(120))
            var body = response.body.makeAsyncIterator()
            let head = try await body.next()  // the stream has begun
            var signal = leave.makeAsyncIterator()
            await signal.next()
            return head?.readableBytes ?? 0  // dropping the body closes the connection mid-stream
        }
        // Wait until the first request decodes, then queue a second one.
        try await waitUntil { server.server.scheduler.load == 1 }
        let second = Task { try await server.json("/v1/chat/completions", body: ["model": "tiny-vlm", "messages": [["role": "user", "content": "hi"]],
                                                                                 "max_tokens": 5] as [String: Any]) }
        try await waitUntil { server.server.scheduler.load == 2 }
        let (status, headers, text) = try await server.send("/v1/chat/completions", body: long)
        XCTAssertEqual(status, 429, text)
        XCTAssertEqual(headers.first(name: "retry-after"), "1")
        XCTAssertTrue(text.contains("rate_limit_exceeded"), text)

        leaveSignal.yield(())
        let firstBytes = try await first.value
        XCTAssertGreaterThan(firstBytes, 0)
        let (secondStatus, reply) = try await second.value
        XCTAssertEqual(secondStatus, 200, "\(reply)")
        XCTAssertEqual((reply["usage"] as? [String: Any])?["completion_tokens"] as? Int, 5)
        try await waitUntil { server.server.scheduler.load == 0 }
        let (_, _, metrics) = try await server.send("/metrics", method: .GET)
        XCTAssertTrue(metrics.contains("minimind_client_disconnects_total 1"), metrics)
    }

    /// A burst into an idle batch is gathered: a request queued while another's body is still
    /// arriving (its handler has begun) waits for it, and both are prefilled and answered in the
    /// first step (`max_tokens` 1); with the wait off, the queued one runs alone first. The answers
    /// equal `Generator.generate` either way.
    func testABurstIntoAnIdleBatchIsPrefilledInOneStep() async throws {
        let generator = try ServerTestModel.generator()
        let questions = ["the cat sat on the mat", "hello world, the sky is blue"]
        let expected = try questions.map { try generator.reference([.user($0)], maxTokens: 1).text }
        let bodies = try questions.map { question in
            Array(try JSONSerialization.data(withJSONObject: ["model": "tiny-vlm", "messages": [["role": "user", "content": question]],
                                                              "max_tokens": 1, "temperature": 0] as [String: Any]))
        }
        for gather in [5.0, 0] {
            let server = try await RunningServer(generator: generator) {
                $0.burstGatherSeconds = gather
                $0.prefixCacheTokens = 0  // the two share the system turn: with the cache the second would start a step later
            }
            // The first request's body comes in two parts over a plain socket: its handler has begun
            // and waits for the rest.
            let slow = try XCTUnwrap(SlowPost(port: server.port, path: "/v1/chat/completions", body: bodies[0], first: 10))
            try await waitUntil { server.server.scheduler.arriving == 1 }
            let second = Task { try await server.json("/v1/chat/completions", body: try JSONSerialization.jsonObject(with: Data(bodies[1]))) }
            // The second is queued (and the worker waits), or answered alone.
            try await waitUntil { server.server.scheduler.load == 1 || server.server.scheduler.steps > 0 }
            try await Task.sleep(nanoseconds: 100_000_000)
            let firstText = await Task.detached { slow.finish() }.value
            let firstJSON = try XCTUnwrap(firstText.range(of: "\r\n\r\n").map { String(firstText[$0.upperBound...]) }, firstText)
            let firstReply = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(firstJSON.utf8)) as? [String: Any])
            let (status, secondReply) = try await second.value
            XCTAssertEqual(status, 200)
            for (i, reply) in [firstReply, secondReply].enumerated() {
                let content = ((reply["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
                XCTAssertEqual(content, expected[i], "request \(i), gather \(gather)")
            }
            XCTAssertEqual(server.server.scheduler.steps, gather > 0 ? 1 : 2, "gather \(gather)")
            try await waitUntil { server.server.scheduler.arriving == 0 }
            try await server.stop()
        }
    }

    /// SIGTERM's path: the service group shuts down gracefully; the running stream still ends with
    /// [DONE] and run() returns without error.
    func testGracefulShutdownFinishesTheRunningStream() async throws {
        let generator = try ServerTestModel.generator()
        let server = try await RunningServer(generator: generator) { $0.defaults.eosTokenIds = [] }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: [
            "model": "tiny-vlm", "messages": [["role": "user", "content": "hello"]], "max_tokens": 300, "stream": true, "temperature": 0,
        ] as [String: Any]), as: UTF8.self)
        let response = try await server.client.execute(server.request("/v1/chat/completions", body: body), timeout: .seconds(60))
        var iterator = response.body.makeAsyncIterator()
        let head = try await iterator.next()
        // Bytes are joined before decoding: a TCP chunk may end inside a multi-byte character.
        var bytes = try XCTUnwrap(head)
        await server.group.triggerGracefulShutdown()
        while var chunk = try await iterator.next() { bytes.writeBuffer(&chunk) }
        let text = String(buffer: bytes)
        let answer = try RunningServer.assemble(RunningServer.events(text))
        XCTAssertEqual(answer.finish, "length")
        XCTAssertEqual(answer.text, try generator.reference([.user("hello")], maxTokens: 300, eos: []).text)
        try await server.task.value  // returns, no error
        server.server.shutdown()
        XCTAssertFalse(Self.accepts(port: server.port), "the listener is closed")
        try await server.client.shutdown()
    }
}

extension ServerBatchingTests {
    /// Whether a TCP connection to 127.0.0.1:port is accepted (a plain socket: no client retries).
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// An HTTP/1.1 POST over a plain socket whose body is sent in two parts: the head and the first
/// `first` bytes at once, the rest by `finish()`, which then returns the whole response.
final class SlowPost: @unchecked Sendable {
    private let fd: Int32
    private let rest: [UInt8]

    init?(port: Int, path: String, body: [UInt8], first: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { close(fd); return nil }
        self.fd = fd
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        rest = Array(body.dropFirst(first))
        send(Array(head.utf8) + body.prefix(first))
    }

    private func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, 0) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Sends the rest of the body and reads the response until the server closes.
    func finish() -> String {
        send(rest)
        var reply: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 4096, 0) }
            guard n > 0 else { break }
            reply += buffer.prefix(n)
        }
        close(fd)
        return String(decoding: reply, as: UTF8.self)
    }
}

extension XCTestCase {
    /// Polls `condition` every 5 ms (fails after `seconds`).
    func waitUntil(_ condition: () -> Bool, seconds: Double = 20) async throws {
        let end = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < end else { return XCTFail("timed out waiting") }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }
}
