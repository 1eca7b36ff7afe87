import Foundation
import XCTest
@testable import MiniMindFormats

final class CheckpointDetectionTests: XCTestCase {
    func testDetectsFormatsByContentAndLoadsTheSameWeights() throws {
        try CheckpointFixtures.require()
        let cases: [(String, Checkpoint.Format)] = [
            ("hf_clip_tiny", .huggingFaceFolder), ("hf_clip_tiny/model.safetensors", .safetensors),
            ("hf_clip_tiny_bin/pytorch_model.bin", .pth), ("hf_clip_tiny_sharded/model.safetensors.index.json", .shardedSafetensors),
            ("hf_clip_tiny_bin", .huggingFaceFolder),
        ]
        let reference = try Safetensors.read(CheckpointFixtures.url("hf_clip_tiny/model.safetensors"))
        for (path, format) in cases {
            let url = CheckpointFixtures.url(path)
            XCTAssertEqual(try Checkpoint.format(of: url), format, path)
            let sd = try Checkpoint.loadStateDict(url)
            XCTAssertEqual(Set(sd.keys), Set(reference.keys), path)
            for k in reference.keys { XCTAssertEqual(sd[k], reference[k], "\(path) \(k)") }
        }
        XCTAssertThrowsError(try Checkpoint.format(of: CheckpointFixtures.url("npy_f32.npy")))
        XCTAssertThrowsError(try Checkpoint.loadStateDict(CheckpointFixtures.url("no-such-file")))
    }

    func testSaveChoosesTheFormatByExtension() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mm-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sd = StateDict([("w", try TensorData(tensor: Tensor(shape: [2], data: [1, 2]), dtype: .bf16))])
        for (name, format) in [("a.safetensors", Checkpoint.Format.safetensors), ("a.pth", .pth), ("a.bin", .pth)] {
            let url = dir.appendingPathComponent(name)
            try Checkpoint.save(sd, to: url)
            XCTAssertEqual(try Checkpoint.format(of: url), format)
            XCTAssertEqual(try Checkpoint.loadStateDict(url)["w"], sd["w"])
        }
        XCTAssertThrowsError(try Checkpoint.save(sd, to: dir.appendingPathComponent("a.txt")))
    }
}
