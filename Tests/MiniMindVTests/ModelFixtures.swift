import Foundation
import XCTest
import TestSupport
@testable import MiniMindV

/// Reads the model parity fixtures written by Scripts/gen_model_fixtures.py.
enum ModelFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/models")

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func tensor(_ name: String) throws -> Tensor { try NPYFile.read(url(name)).toTensor() }

    static func ints(_ name: String) throws -> [Int] { try NPYFile.read(url(name)).int64Values().map { Int($0) } }

    static func weights(_ name: String) throws -> StateDict { try Safetensors.read(url(name)) }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(name))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// The tiny Llama fixture as a MiniMind2 LM config (the script's numbers).
    static func llamaConfig() throws -> LanguageModelConfig {
        try JSONDecoder().decode(LanguageModelConfig.self, from: Data(contentsOf: url("llama_config.json")))
    }

    static func qwenConfig() throws -> LanguageModelConfig {
        var c = try JSONDecoder().decode(LanguageModelConfig.self, from: Data(contentsOf: url("qwen3_config.json")))
        c.qkNorm = true
        return c
    }

    /// NaN (failing every `<=`/`<` check) on a NaN difference or when the element counts differ,
    /// so NaN logits or an empty output cannot pass. (Shapes may differ by leading 1s: [1, T, V]
    /// against a reference saved as [T, V].)
    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        Float(worstDifference(a.toArray(), b.toArray()))
    }
}
