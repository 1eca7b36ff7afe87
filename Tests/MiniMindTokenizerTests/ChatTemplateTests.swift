// Chat templates against transformers 5.24.0 apply_chat_template renderings of the real
// tokenizer_config.json files (chat_templates.json), byte for byte, plus ids after <image> expansion.
import Foundation
import XCTest
import MiniMindTokenizer

final class ChatTemplateTests: XCTestCase {
    private struct Case {
        var name: String, template: String
        var messages: [ChatMessage]
        var options: ChatTemplateOptions
        var rendered: String
        var expandedIDs: [Int]?
    }

    private func cases() throws -> [Case] {
        let text = try String(contentsOf: TokenizerFixtures.url("chat_templates.json"), encoding: .utf8)
        guard case let .array(items)? = try OrderedJSON.parse(text)["cases"] else { throw FixtureError.bad("chat_templates.json") }
        return try items.map { item in
            guard let name = item["name"]?.stringValue, let template = item["template"]?.stringValue,
                  case let .array(msgs)? = item["messages"], let rendered = item["rendered"]?.stringValue,
                  case let .bool(gen)? = item["addGenerationPrompt"] else { throw FixtureError.bad("case") }
            var thinking: Bool? = nil
            if case let .bool(t)? = item["thinking"] { thinking = t }
            var tools: [OrderedJSON]? = nil
            if case let .array(t)? = item["tools"] { tools = t }
            var ids: [Int]? = nil
            if case let .array(list)? = item["expandedIds"] {
                ids = list.compactMap { if case let .int(i) = $0 { return i } else { return nil } }
            }
            return Case(name: name, template: template, messages: try msgs.map { try ChatMessage(json: $0) },
                        options: ChatTemplateOptions(addGenerationPrompt: gen, thinking: thinking, tools: tools),
                        rendered: rendered, expandedIDs: ids)
        }
    }

    private func run(_ asset: String, expectedKind: ChatTemplateKind) throws {
        let tok = try Tokenizer(contentsOf: try TokenizerFixtures.assetFolder(asset))
        let template = try ChatTemplate(tokenizer: tok)
        XCTAssertEqual(template.kind, expectedKind)
        let mine = try cases().filter { $0.template == asset }
        XCTAssertGreaterThan(mine.count, 50)
        var idCases = 0
        for c in mine {
            let label = "\(asset) \(c.name) gen=\(c.options.addGenerationPrompt) thinking=\(String(describing: c.options.thinking)) tools=\(c.options.tools != nil)"
            let text = try template.render(c.messages, options: c.options)
            XCTAssertBytesEqual(text, c.rendered, label)
            if let ids = c.expandedIDs {
                idCases += 1
                let expanded = expectedKind.imagePlaceholder.expand(text)
                XCTAssertEqual(tok.encode(expanded), ids, label)
            }
        }
        XCTAssertGreaterThan(idCases, 10)
    }

    func testMiniMind2Template() throws { try run("minimind2-v", expectedKind: .minimind2) }
    func testMiniMind3Template() throws { try run("minimind-3v", expectedKind: .minimind3) }

    /// The fixture renderings do not need the assets: the kind is known from the case's folder name.
    func testRenderingsWithoutAssets() throws {
        for c in try cases() {
            let kind: ChatTemplateKind = c.template == "minimind2-v" ? .minimind2 : .minimind3
            XCTAssertBytesEqual(try ChatTemplate(kind: kind).render(c.messages, options: c.options), c.rendered, c.name)
        }
    }

    func testUnknownTemplateIsAnActionableError() {
        XCTAssertThrowsError(try ChatTemplate(recognizing: "{% for m in messages %}{{ m.content }}{% endfor %}")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("minimind2") && text.contains("minimind3") && text.contains("ChatTemplate(kind:"), text)
        }
        XCTAssertThrowsError(try ChatTemplate(kind: .minimind2).render([]))
    }

    func testRecognitionIgnoresIndentationOnly() throws {
        let folder = try TokenizerFixtures.assetFolder("minimind-3v")
        let tok = try Tokenizer(contentsOf: folder)
        let text = try XCTUnwrap(tok.chatTemplateText)
        let reindented = text.split(separator: "\n").map { "  " + $0.trimmingCharacters(in: .whitespaces) + " " }.joined(separator: "\n")
        XCTAssertEqual(try ChatTemplate(recognizing: reindented).kind, .minimind3)
        XCTAssertThrowsError(try ChatTemplate(recognizing: text.replacingOccurrences(of: "<think>\\n", with: "<think>")))
    }

    func testImagePlaceholderExpansion() {
        XCTAssertEqual(expandImagePlaceholders("a<image>b<image>", placeholder: "@", count: 3), "a@@@b@@@")
        XCTAssertEqual(ImagePlaceholder.minimind2V.expand("<image>\nhi"), String(repeating: "@", count: 196) + "\nhi")
        XCTAssertEqual(ImagePlaceholder.minimind3V.expansion, String(repeating: "<|image_pad|>", count: 64))
        XCTAssertEqual(expandImagePlaceholders("no image", placeholder: "@", count: 196), "no image")
    }

    func testOrderedJSONRoundTripsPythonLayout() throws {
        let text = "{\"b\": 1, \"a\": [true, null, 2.5, \"x\\\"\\n\\u00e9\\ud83d\\ude00\"], \"c\": {}}"
        let value = try OrderedJSON.parse(text)
        XCTAssertEqual(value.pythonJSON, "{\"b\": 1, \"a\": [true, null, 2.5, \"x\\\"\\né😀\"], \"c\": {}}")
        XCTAssertThrowsError(try OrderedJSON.parse("{\"a\": }"))
        XCTAssertThrowsError(try OrderedJSON.parse("[1, 2"))
    }
}
