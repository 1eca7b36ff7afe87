import Foundation
import XCTest
@testable import MiniMindV
import MiniMindTensor

/// Locates Tests/Fixtures/images and the committed upstream assets, and reads the raw arrays the
/// generator script (Scripts/gen_image_fixtures.py) wrote.
enum ImageFixtures {
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let folder = testsFolder.appendingPathComponent("Fixtures/images")
    static let assets = UpstreamAssets.folder

    static func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    static func manifest() throws -> ImageManifest {
        let data = try Data(contentsOf: url("manifest.json"))
        return try JSONDecoder().decode(ImageManifest.self, from: data)
    }

    static func bytes(_ relative: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(relative))) }

    static func floats(_ relative: String) throws -> [Float] {
        let data = try Data(contentsOf: url(relative))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    static func image(_ relative: String) throws -> RGBImage { try RGBImage(contentsOf: url(relative)) }
}

struct ImageManifest: Decodable {
    struct Source: Decodable {
        let file: String, kind: String, mode: String, format: String
        let width: Int, height: Int, decoded: String, exact: Bool
        let note: String?
    }
    struct Resize: Decodable {
        let source: String, filter: Int, filter_name: String, width: Int, height: Int, expected: String
    }
    struct Preprocess: Decodable {
        let source: String, config: String, shape: [Int], expected: String
    }
    struct Summary: Decodable {
        let shape: [Int], channel_sums: [Double], channel_means: [Double]
        let patch_origin: [Int], patch: String, stride: Int, sample: String
    }
    struct PresetSample: Decodable {
        let source: String, config: String, preset: String
        let shape: [Int], channel_sums: [Double], channel_means: [Double]
        let patch_origin: [Int], patch: String, stride: Int, sample: String
        var summary: Summary {
            Summary(shape: shape, channel_sums: channel_sums, channel_means: channel_means,
                    patch_origin: patch_origin, patch: patch, stride: stride, sample: sample)
        }
    }
    struct EvalImage: Decodable {
        let asset: String, bytes: Int, width: Int, height: Int
        let decoded_channel_means: [Double], decoded_stride: Int, decoded_sample: String
        let presets: [String: Summary]
    }
    let sources: [Source]
    let resize: [Resize]
    let preprocess: [Preprocess]
    let preset_samples: [PresetSample]
    let eval_images: [EvalImage]
}

/// Max and mean absolute difference of two equally long sequences.
func absDiff<T: BinaryInteger>(_ a: [T], _ b: [T]) -> (max: Int, mean: Double) {
    precondition(a.count == b.count)
    var m = 0, s = 0
    for (x, y) in zip(a, b) { let d = abs(Int(x) - Int(y)); m = max(m, d); s += d }
    return (m, a.isEmpty ? 0 : Double(s) / Double(a.count))
}

/// NaN as soon as one difference is NaN (so every `<=` check on it fails).
func absDiff(_ a: [Float], _ b: [Float]) -> (max: Float, mean: Double) {
    precondition(a.count == b.count)
    var m: Float = 0, s = 0.0
    for (x, y) in zip(a, b) { let d = abs(x - y); if d.isNaN || d > m { m = d.isNaN || m.isNaN ? .nan : d }; s += Double(d) }
    return (m, a.isEmpty ? 0 : s / Double(a.count))
}

/// The [3, H, W] summary values of a tensor: patch at `origin` and a strided sample.
func summaryValues(_ t: Tensor, origin: [Int], stride: Int) -> (patch: [Float], sample: [Float], sums: [Double]) {
    let h = t.shape[1], w = t.shape[2]
    let v = t.toArray()
    var patch: [Float] = [], sample: [Float] = [], sums: [Double] = []
    for c in 0..<3 {
        for y in origin[0]..<(origin[0] + 16) {
            for x in origin[1]..<(origin[1] + 16) { patch.append(v[(c * h + y) * w + x]) }
        }
    }
    for c in 0..<3 {
        for y in Swift.stride(from: 0, to: h, by: stride) {
            for x in Swift.stride(from: 0, to: w, by: stride) { sample.append(v[(c * h + y) * w + x]) }
        }
        var sum = 0.0
        for i in (c * h * w)..<((c + 1) * h * w) { sum += Double(v[i]) }
        sums.append(sum)
    }
    return (patch, sample, sums)
}
