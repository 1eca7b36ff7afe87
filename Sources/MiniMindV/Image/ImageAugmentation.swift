import Foundation

/// Seeded image augmentation for training (Docs/Training.md, "When the model goes wrong"), applied
/// to the decoded picture before the vision tower's preprocessing, in this order:
///
/// - random resized crop (torchvision's `RandomResizedCrop` box rule): a box of area share
///   uniform in `cropScale` and aspect ratio log-uniform in 3/4…4/3 (10 tries, else the central
///   box of the closest ratio), resized back to the picture's size (bilinear, Pillow's kernel);
/// - horizontal flip with probability ½ when `horizontalFlip` (off by default: it turns "left" into "right");
/// - colour jitter, brightness then contrast then saturation, each factor uniform in
///   [max(0, 1 − j), 1 + j] (torchvision's `ColorJitter` ranges, fixed order): brightness x·f,
///   contrast m + f·(x − m) with m the picture's mean grey, saturation g + f·(x − g) with g the
///   pixel's grey (ITU-R 601 luma, PIL's "L"), rounded and clamped to 0…255.
///
/// The same generator state gives the same picture. Augmented views are encoded afresh on every
/// use (they bypass the vision-feature cache, which holds the plain views).
public struct ImageAugmentation: Codable, Equatable, Sendable {
    /// Area share range of the crop box (nil: no crop), within 0 < lower ≤ upper ≤ 1.
    public var cropScale: ClosedRange<Double>?
    public var horizontalFlip: Bool
    public var brightness: Double
    public var contrast: Double
    public var saturation: Double

    public init(cropScale: ClosedRange<Double>? = nil, horizontalFlip: Bool = false,
                brightness: Double = 0, contrast: Double = 0, saturation: Double = 0) {
        self.cropScale = cropScale
        self.horizontalFlip = horizontalFlip
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
    }

    /// Whether any operation is on.
    public var isActive: Bool { cropScale != nil || horizontalFlip || brightness > 0 || contrast > 0 || saturation > 0 }

    /// One augmented view of `image`. The draws: the crop's tries (when on), one for the flip,
    /// three for the jitter factors, always in this order.
    public func apply(_ image: RGBImage, generator g: inout SeededGenerator) throws -> RGBImage {
        var out = image
        if let cropScale {
            let box = Self.cropBox(width: image.width, height: image.height, scale: cropScale, generator: &g)
            out = try Self.crop(image, x: box.x, y: box.y, width: box.width, height: box.height)
                .resized(width: image.width, height: image.height, filter: .bilinear)
        }
        let flip = g.nextDouble() < 0.5
        if horizontalFlip && flip { out = Self.flipped(out) }
        func factor(_ j: Double) -> Double { let u = g.nextDouble(); return max(0, 1 - j) + u * ((1 + j) - max(0, 1 - j)) }
        let (b, c, s) = (factor(brightness), factor(contrast), factor(saturation))
        if brightness > 0 { out = Self.brightness(out, factor: b) }
        if contrast > 0 { out = Self.contrast(out, factor: c) }
        if saturation > 0 { out = Self.saturation(out, factor: s) }
        return out
    }

    /// torchvision's `RandomResizedCrop.get_params` (ratio 3/4…4/3).
    public static func cropBox(width: Int, height: Int, scale: ClosedRange<Double>,
                               generator g: inout SeededGenerator) -> (x: Int, y: Int, width: Int, height: Int) {
        let area = Double(width * height)
        let logRatio = (log(3.0 / 4.0), log(4.0 / 3.0))
        for _ in 0..<10 {
            let target = area * (scale.lowerBound + g.nextDouble() * (scale.upperBound - scale.lowerBound))
            let ratio = exp(logRatio.0 + g.nextDouble() * (logRatio.1 - logRatio.0))
            let w = Int((target * ratio).squareRoot().rounded()), h = Int((target / ratio).squareRoot().rounded())
            if w > 0, h > 0, w <= width, h <= height {
                let y = Int(g.next() % UInt64(height - h + 1)), x = Int(g.next() % UInt64(width - w + 1))
                return (x, y, w, h)
            }
        }
        // Fallback: the central crop, ratio clamped to the range.
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < 3.0 / 4.0 { h = Int((Double(w) / (3.0 / 4.0)).rounded()) } else if inRatio > 4.0 / 3.0 { w = Int((Double(h) * (4.0 / 3.0)).rounded()) }
        w = min(max(w, 1), width); h = min(max(h, 1), height)
        return ((width - w) / 2, (height - h) / 2, w, h)
    }

    public static func crop(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) throws -> RGBImage {
        guard x >= 0, y >= 0, width >= 1, height >= 1, x + width <= image.width, y + height <= image.height else {
            throw ImageError.invalidSize(what: "crop box at (\(x), \(y)) of \(image.width)×\(image.height)", width: width, height: height)
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for row in 0..<height {
            let src = ((y + row) * image.width + x) * 3
            pixels.replaceSubrange((row * width * 3)..<((row + 1) * width * 3), with: image.pixels[src..<(src + width * 3)])
        }
        return RGBImage(unchecked: width, height: height, pixels: pixels)
    }

    public static func flipped(_ image: RGBImage) -> RGBImage {
        var pixels = image.pixels
        for y in 0..<image.height {
            for x in 0..<image.width {
                let s = (y * image.width + (image.width - 1 - x)) * 3, d = (y * image.width + x) * 3
                pixels[d] = image.pixels[s]; pixels[d + 1] = image.pixels[s + 1]; pixels[d + 2] = image.pixels[s + 2]
            }
        }
        return RGBImage(unchecked: image.width, height: image.height, pixels: pixels)
    }

    /// ITU-R 601 luma of one pixel (PIL's "L" weights).
    static func grey(_ p: ArraySlice<UInt8>) -> Double {
        let i = p.startIndex
        return 0.299 * Double(p[i]) + 0.587 * Double(p[i + 1]) + 0.114 * Double(p[i + 2])
    }

    static func byte(_ v: Double) -> UInt8 { UInt8(min(255, max(0, v.rounded()))) }

    public static func brightness(_ image: RGBImage, factor f: Double) -> RGBImage {
        RGBImage(unchecked: image.width, height: image.height, pixels: image.pixels.map { byte(Double($0) * f) })
    }

    public static func contrast(_ image: RGBImage, factor f: Double) -> RGBImage {
        var sum = 0.0
        for i in stride(from: 0, to: image.pixels.count, by: 3) { sum += grey(image.pixels[i..<(i + 3)]) }
        let m = sum / Double(image.width * image.height)
        return RGBImage(unchecked: image.width, height: image.height, pixels: image.pixels.map { byte(m + f * (Double($0) - m)) })
    }

    public static func saturation(_ image: RGBImage, factor f: Double) -> RGBImage {
        var pixels = image.pixels
        for i in stride(from: 0, to: pixels.count, by: 3) {
            let g = grey(image.pixels[i..<(i + 3)])
            for c in 0..<3 { pixels[i + c] = byte(g + f * (Double(image.pixels[i + c]) - g)) }
        }
        return RGBImage(unchecked: image.width, height: image.height, pixels: pixels)
    }
}

extension TrainingRecipe {
    /// The augmentation's numbers against their ranges; errors name the field.
    func validateImageAugmentation() throws {
        guard let a = imageAugmentation else { return }
        if let s = a.cropScale {
            try InputRange.check("ImageAugmentation.cropScale", s.lowerBound, above: 0, upTo: 1, note: "the smallest area share of the crop box")
            try InputRange.check("ImageAugmentation.cropScale.upperBound", s.upperBound, in: s.lowerBound...1)
        }
        try InputRange.check("ImageAugmentation.brightness", a.brightness, in: 0...1)
        try InputRange.check("ImageAugmentation.contrast", a.contrast, in: 0...1)
        try InputRange.check("ImageAugmentation.saturation", a.saturation, in: 0...1)
    }
}
