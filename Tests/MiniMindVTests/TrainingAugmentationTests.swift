import XCTest
@testable import MiniMindV

/// Image augmentation for training: each operation by its definition, and augmented features
/// reproducible from their seed and kept out of the feature cache.
final class TrainingAugmentationTests: XCTestCase {
    static func picture(width: Int = 30, height: Int = 20) throws -> RGBImage {
        try RGBImage(width: width, height: height, pixels: (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: ($0 &* 37) ^ ($0 >> 3)) })
    }

    func testFlipMirrorsAndTwiceIsIdentity() throws {
        let p = try Self.picture()
        let f = ImageAugmentation.flipped(p)
        XCTAssertEqual(f[0, 3], p[29, 3])
        XCTAssertEqual(f[7, 19], p[22, 19])
        XCTAssertEqual(ImageAugmentation.flipped(f), p)
    }

    func testJitterFactorOneIsIdentityAndExtremesAreDefined() throws {
        let p = try Self.picture()
        XCTAssertEqual(ImageAugmentation.brightness(p, factor: 1), p)
        XCTAssertEqual(ImageAugmentation.contrast(p, factor: 1), p)
        XCTAssertEqual(ImageAugmentation.saturation(p, factor: 1), p)
        XCTAssertTrue(ImageAugmentation.brightness(p, factor: 0).pixels.allSatisfy { $0 == 0 })
        let grey = ImageAugmentation.saturation(p, factor: 0)  // every pixel its own luma
        for y in 0..<p.height {
            for x in 0..<p.width {
                let c: SIMD3<UInt8> = p[x, y]
                let r = 0.299 * Double(c.x), gr = 0.587 * Double(c.y), b = 0.114 * Double(c.z)
                let luma: UInt8 = UInt8((r + gr + b).rounded())
                XCTAssertEqual(grey[x, y], SIMD3<UInt8>(repeating: luma))
            }
        }
        let flat = ImageAugmentation.contrast(p, factor: 0)  // the picture's mean luma everywhere
        XCTAssertEqual(Set(flat.pixels).count, 1)
        XCTAssertEqual(ImageAugmentation.brightness(p, factor: 2)[1, 1], p[1, 1].map2x)
    }

    /// Boxes lie inside the picture with an area share in the scale range (rounding aside) and
    /// an aspect ratio in 3/4…4/3; the crop holds the pixels of its box.
    func testCropBoxesAreInsideWithTheirShare() throws {
        var g = SeededGenerator(seed: 9)
        for (w, h) in [(30, 20), (224, 224), (7, 50), (1, 1)] {
            for _ in 0..<200 {
                let b = ImageAugmentation.cropBox(width: w, height: h, scale: 0.3...0.9, generator: &g)
                XCTAssertTrue(b.x >= 0 && b.y >= 0 && b.width >= 1 && b.height >= 1 && b.x + b.width <= w && b.y + b.height <= h, "\(b) in \(w)×\(h)")
                if w >= 30 && h >= 20 {
                    let share = Double(b.width * b.height) / Double(w * h)
                    XCTAssertTrue((0.2...1.0).contains(share), "share \(share)")
                }
            }
        }
        let p = try Self.picture()
        let c = try ImageAugmentation.crop(p, x: 4, y: 5, width: 10, height: 7)
        XCTAssertEqual(c[0, 0], p[4, 5])
        XCTAssertEqual(c[9, 6], p[13, 11])
        XCTAssertThrowsError(try ImageAugmentation.crop(p, x: 25, y: 0, width: 10, height: 2))
    }

    /// Features of augmented views: the same seed gives the same features, another seed others;
    /// they never enter the cache, and the plain view is cached as before.
    func testAugmentedFeaturesAreReproducibleAndUncached() throws {
        let extractor = VisionFeatureExtractor(encoder: try DataMalformedRowTests.tinyEncoder(), cache: nil)
        let image = PromptImage.image(try Self.picture())
        let rule = ImageAugmentation(cropScale: 0.4...1, horizontalFlip: true, brightness: 0.4, contrast: 0.4, saturation: 0.4)
        let a = try extractor.features(for: [image], row: "r", augmentation: (rule, 5))[0].toArray()
        let b = try extractor.features(for: [image], row: "r", augmentation: (rule, 5))[0].toArray()
        let c = try extractor.features(for: [image], row: "r", augmentation: (rule, 6))[0].toArray()
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(extractor.augmented, 3)
        XCTAssertEqual(extractor.computed, 0)
        let plain = try extractor.features(for: [image], row: "r")[0].toArray()
        XCTAssertNotEqual(plain, a)
        _ = try extractor.features(for: [image], row: "r")
        XCTAssertEqual(extractor.computed, 1)
        XCTAssertEqual(extractor.reused, 1)
    }

    /// The trainer's augmentation seeds depend on the micro-batch and the sample's place only.
    func testTrainerAugmentationSeedsAreDeterministic() throws {
        let (model, samples, base) = try TrainingRegularisationTests.tinyModel()
        var recipe = base
        recipe.imageAugmentation = ImageAugmentation(horizontalFlip: true)
        let trainer = try VLMTrainer(model: model, recipe: recipe, samples: PreparedSamples(samples))
        func seeds(_ t: Int) -> [UInt64] {
            var batch = TrainingBatch(Array(samples.prefix(3)))
            trainer.prepareRemedies(&batch, microBatch: t)
            return batch.imageAugmentation?.seeds ?? []
        }
        XCTAssertEqual(seeds(4), seeds(4))
        XCTAssertEqual(Set(seeds(4)).count, 3)
        XCTAssertNotEqual(seeds(4), seeds(5))
    }

    func testAugmentationNumbersAreRangeChecked() throws {
        let (_, _, base) = try TrainingRegularisationTests.tinyModel()
        func field(_ a: ImageAugmentation) -> String? {
            var r = base
            r.imageAugmentation = a
            do { try r.validate(); return nil } catch let e as InputRangeError { return e.field } catch { return "\(error)" }
        }
        XCTAssertEqual(field(ImageAugmentation(cropScale: 0...1)), "ImageAugmentation.cropScale")
        XCTAssertEqual(field(ImageAugmentation(cropScale: 0.5...1.5)), "ImageAugmentation.cropScale.upperBound")
        XCTAssertEqual(field(ImageAugmentation(brightness: -0.1)), "ImageAugmentation.brightness")
        XCTAssertEqual(field(ImageAugmentation(saturation: .nan)), "ImageAugmentation.saturation")
        XCTAssertNil(field(ImageAugmentation(cropScale: 0.5...1, horizontalFlip: true, brightness: 0.2, contrast: 0.2, saturation: 0.2)))
    }
}

private extension SIMD3 where Scalar == UInt8 {
    /// Each channel doubled, clamped to 255 (brightness factor 2 by definition).
    var map2x: SIMD3<UInt8> { SIMD3(UInt8(Swift.min(255, 2 * Int(x))), UInt8(Swift.min(255, 2 * Int(y))), UInt8(Swift.min(255, 2 * Int(z)))) }
}
