import Foundation
import XCTest
@testable import MiniMindV

/// generation_config.json: read as transformers reads it (fixtures written and read back by
/// transformers' GenerationConfig, Scripts/gen_generation_config_fixtures.py), written so that it
/// reads back, numbers checked where they enter.
final class GenerationConfigTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/generation")

    /// A folder holding one fixture as its generation_config.json.
    private func folder(with fixture: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("genconfig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try Data(contentsOf: Self.fixtures.appendingPathComponent(fixture))
            .write(to: dir.appendingPathComponent(GenerationConfig.fileName))
        return dir
    }

    func testReadsWhatTransformersWritesAndReads() throws {
        for name in ["greedy", "sampling"] {
            let config = try XCTUnwrap(try GenerationConfig.load(folder: try folder(with: "generation_config_\(name).json"),
                                                                 vocabularySize: 6400))
            let expected = try XCTUnwrap(try JSONSerialization.jsonObject(
                with: Data(contentsOf: Self.fixtures.appendingPathComponent("generation_config_\(name).expected.json"))) as? [String: Any])
            func number(_ key: String) -> Double? { (expected[key] as? NSNumber)?.doubleValue }
            XCTAssertEqual(config.doSample, expected["do_sample"] as? Bool, name)
            XCTAssertEqual(config.temperature.map(Double.init), number("temperature").map { Double(Float($0)) }, name)
            XCTAssertEqual(config.topP.map(Double.init), number("top_p").map { Double(Float($0)) }, name)
            XCTAssertEqual(config.topK, expected["top_k"] as? Int, name)
            XCTAssertEqual(config.repetitionPenalty.map(Double.init), number("repetition_penalty").map { Double(Float($0)) }, name)
            XCTAssertEqual(config.maxNewTokens, expected["max_new_tokens"] as? Int, name)
            XCTAssertEqual(config.eosTokenId, expected["eos_token_id"] as? [Int], name)
            XCTAssertEqual(config.captionPrompt, expected["minimindv_caption_prompt"] as? String, name)
            XCTAssertEqual(config.systemPrompt, expected["minimindv_system_prompt"] as? String, name)
            XCTAssertEqual(config.exampleQuestions, expected["minimindv_example_questions"] as? [String], name)
        }
    }

    func testSamplingOptionsTakeTheFilesValuesOverTheDefaults() throws {
        let greedy = try XCTUnwrap(try GenerationConfig.load(folder: try folder(with: "generation_config_greedy.json"), vocabularySize: 10))
        let o = greedy.samplingOptions()
        XCTAssertTrue(o.isGreedy)
        XCTAssertEqual(o.maxNewTokens, 32)
        XCTAssertEqual(o.eosTokenIds, [2])
        XCTAssertEqual(o.topP, SamplingOptions().topP, "a field the file does not set keeps the default")
        let sampling = try XCTUnwrap(try GenerationConfig.load(folder: try folder(with: "generation_config_sampling.json"), vocabularySize: 10))
        let s = sampling.samplingOptions()
        XCTAssertFalse(s.isGreedy)
        XCTAssertEqual(s.repetitionPenalty, 1.1)
        XCTAssertEqual(s.eosTokenIds, [2, 0])
        XCTAssertNil(try GenerationConfig.load(folder: FileManager.default.temporaryDirectory.appendingPathComponent("none-\(UUID())"),
                                               vocabularySize: 10))
    }

    func testWrittenFileReadsBack() throws {
        let dir = try folder(with: "generation_config_greedy.json")
        let config = GenerationConfig(doSample: true, temperature: 0.5, topK: 7, maxNewTokens: 9, eosTokenId: [2],
                                      captionPrompt: "<image>\nwhat?", systemPrompt: "be brief", exampleQuestions: ["a?"])
        try config.write(folder: dir)
        XCTAssertEqual(try GenerationConfig.load(folder: dir, vocabularySize: 10), config)
        let text = try String(contentsOf: dir.appendingPathComponent(GenerationConfig.fileName), encoding: .utf8)
        XCTAssertTrue(text.contains("\"minimindv_caption_prompt\""))
        XCTAssertFalse(text.contains("top_p"), "unset fields are left out")
    }

    func testOutOfRangeValuesAreErrorsNamingTheField() throws {
        let dir = try folder(with: "generation_config_greedy.json")
        for (json, field) in [("{\"temperature\": -1}", "temperature"), ("{\"top_p\": 2}", "top-p"),
                              ("{\"top_k\": -3}", "top-k"), ("{\"max_new_tokens\": 0}", "max_new_tokens"),
                              ("{\"eos_token_id\": [2, 99]}", "eos_token_id 99"), ("{\"do_sample\": \"yes\"}", "do_sample"),
                              ("{\"repetition_penalty\": 0}", "repetition penalty")] {
            try Data(json.utf8).write(to: dir.appendingPathComponent(GenerationConfig.fileName))
            XCTAssertThrowsError(try GenerationConfig.load(folder: dir, vocabularySize: 10), json) { error in
                XCTAssertTrue("\(error)".contains(field), "\(error)")
                XCTAssertTrue("\(error)".contains(GenerationConfig.fileName), "\(error)")
            }
        }
    }
}
