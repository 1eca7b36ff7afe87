/// An 8-bit RGB image: `pixels` holds `width·height·3` bytes, row-major, top row first,
/// channels interleaved (R, G, B). Every decoded format ends up here (alpha dropped, grey replicated).
///
///     let image = try RGBImage(contentsOf: URL(fileURLWithPath: "photo.jpg"))   // JPEG, PNG, BMP, …
///     let red = image[x: 0, y: 0].x
///     let pixels = try model.preprocess([image])   // [1, 3, H, W], what the vision tower takes
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    /// Wraps caller-provided bytes; throws when the count does not match the size.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width >= 1, height >= 1 else { throw ImageError.invalidSize(what: "RGBImage", width: width, height: height) }
        let (expected, overflow) = width.multipliedReportingOverflow(by: height * 3)
        guard !overflow, pixels.count == expected else {
            throw ImageError.invalidPixels(width: width, height: height,
                                           expectedBytes: overflow ? Int.max : expected, foundBytes: pixels.count)
        }
        self.init(unchecked: width, height: height, pixels: pixels)
    }

    /// For internal producers that already guarantee the invariant.
    init(unchecked width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y` (0-based; precondition: inside the image).
    public subscript(x: Int, y: Int) -> SIMD3<UInt8> {
        precondition(x >= 0 && x < width && y >= 0 && y < height,
                     "RGBImage: pixel (\(x), \(y)) outside \(width)×\(height)")
        let i = (y * width + x) * 3
        return SIMD3(pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
