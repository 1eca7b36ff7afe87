import Foundation
import XCTest
@testable import MiniMindV
import MiniMindTensor

/// The upstream eval JPEGs (../shared/assets/*/eval_images): decode and preprocessing against PIL /
/// transformers summaries (channel means, a central 16×16 patch, a strided sample).
final class ImageEvalAssetTests: XCTestCase {
    func testEvalImagesMatchPILWithinJPEGNoise() throws {
        let manifest = try ImageFixtures.manifest()
        guard FileManager.default.fileExists(atPath: ImageFixtures.assets.path) else {
            throw XCTSkip("shared assets not found at \(ImageFixtures.assets.path); eval-image parity skipped")
        }
        XCTAssertFalse(manifest.eval_images.isEmpty, "fixtures were generated without the eval images")
        var report: [String] = []
        for entry in manifest.eval_images {
            let url = ImageFixtures.assets.appendingPathComponent(entry.asset)
            guard let data = try? Data(contentsOf: url), data.count == entry.bytes else {
                throw XCTSkip("\(url.path) is absent or differs from the file the fixtures were made from")
            }
            let image = try RGBImage(data: data, source: url.path)
            XCTAssertEqual([image.width, image.height], [entry.width, entry.height], entry.asset)

            // Decode: strided sample of PIL's pixels, and channel means.
            let s = entry.decoded_stride
            var sample: [UInt8] = []
            for y in stride(from: 0, to: image.height, by: s) {
                for x in stride(from: 0, to: image.width, by: s) { let p = image[x, y]; sample += [p.x, p.y, p.z] }
            }
            let decode = absDiff(sample, try ImageFixtures.bytes(entry.decoded_sample))
            var means = [Double](repeating: 0, count: 3)
            for (i, v) in image.pixels.enumerated() { means[i % 3] += Double(v) }
            let meanShift = (0..<3).map { abs(means[$0] / Double(image.width * image.height) - entry.decoded_channel_means[$0]) }
            XCTAssertLessThanOrEqual(decode.max, 12, "\(entry.asset) decode")
            XCTAssertLessThanOrEqual(decode.mean, 1.0, "\(entry.asset) decode")
            XCTAssertLessThanOrEqual(meanShift.max() ?? 0, 0.25, "\(entry.asset) channel means")

            var line = String(format: "%@ decode: max %d mean %.3f levels", entry.asset, decode.max, decode.mean)
            for (name, preset) in [("clip224", ImagePreprocessing.clip224), ("siglip256", ImagePreprocessing.siglip256)] {
                guard let ref = entry.presets[name] else { continue }
                let out = try preset(image)
                XCTAssertEqual(out.shape, ref.shape)
                let got = summaryValues(out, origin: ref.patch_origin, stride: ref.stride)
                let diff = absDiff(got.patch + got.sample,
                                   try ImageFixtures.floats(ref.patch) + ImageFixtures.floats(ref.sample))
                // In 8-bit levels: |Δ| · std · 255 (std ≥ 0.26 for CLIP, 0.5 for SigLIP).
                let std = preset.std ?? [1, 1, 1]
                let levels = Double(diff.max) * (std.max() ?? 1) * 255
                let count = Double(ref.shape[1] * ref.shape[2])
                let meanDiff = (0..<3).map { abs(got.sums[$0] / count - ref.channel_means[$0]) }.max() ?? 0
                XCTAssertLessThanOrEqual(levels, 12.5, "\(entry.asset) \(name)")
                XCTAssertLessThanOrEqual(diff.mean * (std.max() ?? 1) * 255, 1.0, "\(entry.asset) \(name)")
                XCTAssertLessThanOrEqual(meanDiff, 0.01, "\(entry.asset) \(name) channel means")
                line += String(format: " | %@: max %.2f levels, mean %.3f levels, mean shift %.5f", name, levels,
                               diff.mean * (std.max() ?? 1) * 255, meanDiff)
            }
            report.append(line)
        }
        print(report.joined(separator: "\n"))
    }
}
