import Foundation
import XCTest
@testable import MiniMindV
import MiniMindTensor

/// Full preprocessing against transformers 5.24's CLIPImageProcessorPil / SiglipImageProcessorPil
/// (fed `image.convert('RGB')`, as upstream MiniMind-V does).
final class ImagePreprocessingTests: XCTestCase {
    func config(_ relative: String) throws -> ImagePreprocessing {
        try ImagePreprocessing(preprocessorConfig: ImageFixtures.url(relative))
    }

    func testSmallConfigsMatchTransformersExactly() throws {
        let manifest = try ImageFixtures.manifest()
        XCTAssertGreaterThanOrEqual(manifest.preprocess.count, 50)
        var worst: Float = 0
        for case_ in manifest.preprocess {
            let pre = try config(case_.config)
            let out = try pre(ImageFixtures.image(case_.source))
            XCTAssertEqual(out.shape, case_.shape, "\(case_.source) \(case_.config)")
            guard out.shape == case_.shape else { continue }
            let diff = absDiff(out.toArray(), try ImageFixtures.floats(case_.expected))
            worst = max(worst, diff.max)
            XCTAssertLessThanOrEqual(diff.max, 1e-6, "\(case_.source) with \(case_.config)")
        }
        print("preprocessing vs transformers (small configs): max abs diff \(worst)")
    }

    func testPresetsMatchTransformersOnPNG() throws {
        let manifest = try ImageFixtures.manifest()
        XCTAssertFalse(manifest.preset_samples.isEmpty)
        var worst: Float = 0
        for case_ in manifest.preset_samples {
            let preset = case_.preset == "clip224" ? ImagePreprocessing.clip224 : ImagePreprocessing.siglip256
            // The preset equals what the HF config file says.
            XCTAssertEqual(try config(case_.config), preset, case_.config)
            let out = try preset(ImageFixtures.image(case_.source))
            XCTAssertEqual(out.shape, case_.shape)
            let got = summaryValues(out, origin: case_.patch_origin, stride: case_.stride)
            let patch = absDiff(got.patch, try ImageFixtures.floats(case_.patch))
            let sample = absDiff(got.sample, try ImageFixtures.floats(case_.sample))
            worst = max(worst, max(patch.max, sample.max))
            XCTAssertLessThanOrEqual(patch.max, 1e-6, "\(case_.source) \(case_.preset) patch")
            XCTAssertLessThanOrEqual(sample.max, 1e-6, "\(case_.source) \(case_.preset) sample")
            for c in 0..<3 { XCTAssertEqual(got.sums[c], case_.channel_sums[c], accuracy: 1e-6, "\(case_.source) channel \(c)") }
        }
        print("preprocessing vs transformers (clip224/siglip256 on PNG): max abs diff \(worst)")
    }

    func testTinyImagesWork() throws {
        // transformers < 5 mis-read 1- and 3-pixel-tall arrays as channels-first; we must not.
        for (w, h) in [(5, 1), (7, 3), (1, 5), (1, 1), (3, 3), (1, 3)] {
            let image = try RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { UInt8($0 * 37 % 256) })
            XCTAssertEqual(try ImagePreprocessing.clip224(image).shape, [3, 224, 224])
            XCTAssertEqual(try ImagePreprocessing.siglip256(image).shape, [3, 256, 256])
        }
    }

    func testBatchStacksImages() throws {
        let a = try ImageFixtures.image("sources/rgb_100x75.png")
        let b = try ImageFixtures.image("sources/rgb_37x53.png")
        let batch = try ImagePreprocessing.clip224([a, b])
        XCTAssertEqual(batch.shape, [2, 3, 224, 224])
        let single = try ImagePreprocessing.clip224(b).toArray()
        XCTAssertEqual(Array(batch.toArray()[(3 * 224 * 224)...]), single)
        XCTAssertThrowsError(try ImagePreprocessing.clip224([])) { XCTAssertEqual($0 as? ImageError, .emptyBatch) }
        let noCrop = try config("configs/clip_nocrop.json")
        XCTAssertThrowsError(try noCrop([a, b])) { error in
            guard case .batchShapeMismatch(1, _, _)? = error as? ImageError else { return XCTFail("\(error)") }
        }
    }

    func testConfigParsing() throws {
        let openai = try config("configs/clip_openai.json")
        XCTAssertEqual(openai.kind, .clip)
        XCTAssertEqual(openai, .clip224)
        let siglip = try config("configs/siglip_256.json")
        XCTAssertEqual(siglip.kind, .siglip)
        XCTAssertEqual(siglip.resample, .bilinear)
        // Defaults when keys are absent: CLIP → bicubic + crop 224 + CLIP stats; SigLIP → bilinear (Docs/Model.md, "Image preprocessing"), 0.5.
        let clipBare = try ImagePreprocessing(preprocessorConfigData: Data(#"{"image_processor_type":"CLIPImageProcessor","size":{"shortest_edge":224}}"#.utf8))
        XCTAssertEqual(clipBare, .clip224)
        let siglipBare = try ImagePreprocessing(preprocessorConfigData: Data(#"{"image_processor_type":"SiglipImageProcessor","size":{"height":256,"width":256}}"#.utf8))
        XCTAssertEqual(siglipBare, .siglip256)

        func rejects(_ json: String, key: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try ImagePreprocessing(preprocessorConfigData: Data(json.utf8), source: "cfg.json"),
                                 file: file, line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("cfg.json") && message.contains(key), message, file: file, line: line)
            }
        }
        rejects("[1, 2]", key: "(document)")
        rejects("{not json", key: "(document)")
        rejects(#"{"size": {"height": 10}}"#, key: "size")
        rejects(#"{"size": "big"}"#, key: "size")
        rejects(#"{"size": 0}"#, key: "size")
        rejects(#"{"size": 1e9}"#, key: "size")
        rejects(#"{"size": {"shortest_edge": 10, "longest_edge": 20}}"#, key: "longest_edge")
        rejects(#"{"image_processor_type":"SiglipImageProcessor","size": 10, "resample": 0}"#, key: "resample")
        rejects(#"{"image_processor_type":"SiglipImageProcessor","size": 10, "resample": 9}"#, key: "resample")
        rejects(#"{"image_processor_type":"SiglipImageProcessor","size": 10, "do_resize": "yes"}"#, key: "do_resize")
        rejects(#"{"image_processor_type":"SiglipImageProcessor","size": 10, "image_std": [1, 0, 1]}"#, key: "image_std")
        rejects(#"{"image_processor_type":"SiglipImageProcessor","size": 10, "image_mean": [1, 2]}"#, key: "image_mean")
        rejects(#"{"image_processor_type":"Siglip2ImageProcessor","max_num_patches": 256}"#, key: "max_num_patches")
        rejects(#"{"size": 10}"#, key: "image_mean")
        XCTAssertThrowsError(try ImagePreprocessing(preprocessorConfig: URL(fileURLWithPath: "/nonexistent/preprocessor_config.json"))) {
            XCTAssertEqual($0 as? ImageError, .fileNotFound(path: "/nonexistent/preprocessor_config.json"))
        }
    }

    func testOutputWithoutCropIsBounded() throws {
        let tall = try RGBImage(width: 1, height: 16384, pixels: [UInt8](repeating: 9, count: 16384 * 3))
        let noCrop = ImagePreprocessing(resize: .shortestEdge(224), resample: .bicubic, crop: nil,
                                        rescaleFactor: 1 / 255, mean: nil, std: nil)
        XCTAssertThrowsError(try noCrop(tall)) { error in
            guard case .outputTooLarge? = error as? ImageError else { return XCTFail("\(error)") }
        }
        // With the crop only the window is computed: fine.
        XCTAssertEqual(try ImagePreprocessing.clip224(tall).shape, [3, 224, 224])
    }
}
