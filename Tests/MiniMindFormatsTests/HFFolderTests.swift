import Foundation
import XCTest
@testable import MiniMindFormats

/// Folders written by transformers' save_pretrained (single file and sharded) and a
/// torch.save pytorch_model.bin, all holding the same tiny CLIP vision model.
final class HFFolderTests: XCTestCase {
    private func assertWeights(_ folder: String, expectLocation: (HFFolder.WeightsLocation) -> Bool) throws {
        try CheckpointFixtures.require()
        let hf = try HFFolder(CheckpointFixtures.url(folder))
        XCTAssertTrue(expectLocation(try hf.weightsLocation()), folder)
        XCTAssertEqual(hf.config["hidden_size"]?.intValue, 8)
        XCTAssertEqual(hf.config["model_type"]?.stringValue, CheckpointFixtures.manifest["hf"]?["config"]?["model_type"]?.stringValue)
        let sd = try hf.loadWeights()
        guard let tensors = CheckpointFixtures.manifest["hf"]?["tensors"]?.objectValue else { return XCTFail("manifest") }
        XCTAssertEqual(Set(sd.keys), Set(tensors.keys), folder)
        for (name, entry) in tensors { CheckpointFixtures.assertTensor(sd[name], equals: entry, "\(folder)/\(name)") }
    }

    func testSingleSafetensorsFolderWithPreprocessorConfig() throws {
        try assertWeights("hf_clip_tiny") { if case .safetensors = $0 { return true }; return false }
        let hf = try HFFolder(CheckpointFixtures.url("hf_clip_tiny"))
        XCTAssertEqual(hf.preprocessorConfig?["crop_size"]?["height"]?.intValue, 8)
        XCTAssertNotNil(hf.preprocessorConfig?["image_mean"]?.arrayValue)
    }

    func testShardedSafetensorsFolder() throws {
        try assertWeights("hf_clip_tiny_sharded") { if case .shardedSafetensors = $0 { return true }; return false }
    }

    func testPytorchModelBinFolder() throws {
        try assertWeights("hf_clip_tiny_bin") { if case .pytorchBin = $0 { return true }; return false }
    }

    func testShardedWriterRoundTrip() throws {
        try CheckpointFixtures.require()
        let sd = try HFFolder(CheckpointFixtures.url("hf_clip_tiny")).loadWeights()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-shard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try Safetensors.writeSharded(sd, to: dir, maxShardBytes: 1500)
        XCTAssertGreaterThan(files.count, 2)
        let back = try Safetensors.readSharded(index: dir.appendingPathComponent(Safetensors.indexFileName))
        XCTAssertEqual(Set(back.keys), Set(sd.keys))
        for k in sd.keys { XCTAssertEqual(back[k], sd[k], k) }
    }

    func testMissingConfigAndMissingWeightsAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try HFFolder(dir)) { XCTAssertTrue("\($0)".contains("config.json")) }
        try Data("{\"hidden_size\": 4}".utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try HFFolder(dir).loadWeights()) { XCTAssertTrue("\($0)".contains("pytorch_model.bin")) }
        try Data(#"{"weight_map": {"a": "../etc/passwd"}}"#.utf8).write(to: dir.appendingPathComponent(Safetensors.indexFileName))
        XCTAssertThrowsError(try HFFolder(dir).loadWeights()) { XCTAssertTrue("\($0)".contains("same folder"), "\($0)") }
    }
}
