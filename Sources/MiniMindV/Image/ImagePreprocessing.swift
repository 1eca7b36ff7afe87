import MiniMindTensor

/// The resize → centre crop → rescale → normalise pipeline of transformers' PIL image processors
/// (`CLIPImageProcessor`, `SiglipImageProcessor`), producing channels-first Float32 tensors.
/// Every step is reproduced exactly: the resize is Pillow's (8-bit), the crop offset is
/// `(size − crop) // 2` (zero-padded when the image is smaller), rescaling multiplies in Double and
/// rounds to Float, normalisation is `(x − mean) / std` in Float.
public struct ImagePreprocessing: Equatable, Sendable {
    /// Which family a configuration belongs to (informational; the fields define the behaviour).
    public enum Kind: String, Equatable, Sendable { case clip, siglip, custom }

    public enum Resize: Equatable, Sendable {
        /// Shorter side to `n`, longer side `int(n · long / short)` (truncated), aspect kept.
        case shortestEdge(Int)
        /// Exactly `width`×`height`, aspect ignored.
        case exact(width: Int, height: Int)
    }

    public var kind: Kind
    /// nil: no resize (`do_resize: false`).
    public var resize: Resize?
    public var resample: ResampleFilter
    /// nil: no centre crop.
    public var crop: ImageSize?
    /// nil: no rescale (`do_rescale: false`).
    public var rescaleFactor: Double?
    /// Per-channel mean and std (3 each); nil: no normalisation.
    public var mean: [Double]?
    public var std: [Double]?

    /// Outputs larger than this many pixels are refused (only reachable without a crop or fixed size).
    public static let maxOutputPixels = 64 * 1024 * 1024

    public init(kind: Kind = .custom, resize: Resize?, resample: ResampleFilter, crop: ImageSize?,
                rescaleFactor: Double?, mean: [Double]?, std: [Double]?) {
        self.kind = kind
        self.resize = resize
        self.resample = resample
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.std = std
        self.crop = crop
    }

    public static let clipMean = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd = [0.26862954, 0.26130258, 0.27577711]

    /// openai/clip-vit-base-patch16: shorter side 224 (bicubic), centre crop 224, CLIP mean/std.
    public static let clip224 = ImagePreprocessing(kind: .clip, resize: .shortestEdge(224), resample: .bicubic,
                                                   crop: ImageSize(width: 224, height: 224), rescaleFactor: 1.0 / 255.0,
                                                   mean: clipMean, std: clipStd)
    /// SigLIP ViT-B/32 at 256: exactly 256×256 (bilinear), mean = std = 0.5.
    public static let siglip256 = ImagePreprocessing(kind: .siglip, resize: .exact(width: 256, height: 256),
                                                     resample: .bilinear, crop: nil, rescaleFactor: 1.0 / 255.0,
                                                     mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])

    /// Size after resizing (before the crop), as transformers computes it.
    public func resizedSize(width: Int, height: Int) -> ImageSize {
        switch resize {
        case nil: return ImageSize(width: width, height: height)
        case .exact(let w, let h): return ImageSize(width: w, height: h)
        case .shortestEdge(let n):
            // Python: int(n * long / short) — a Double quotient truncated.
            let short = min(width, height), long = max(width, height)
            let newLong = Int(Double(n * long) / Double(short))
            return width <= height ? ImageSize(width: n, height: newLong) : ImageSize(width: newLong, height: n)
        }
    }

    /// Output (width, height) for an input of this size.
    public func outputSize(width: Int, height: Int) -> ImageSize {
        crop ?? resizedSize(width: width, height: height)
    }

    /// Preprocesses one image to a [3, H, W] tensor.
    public func callAsFunction(_ image: RGBImage) throws -> Tensor {
        let (w, h) = try checkedOutputSize(image)
        let t = Tensor.uninitialized([3, h, w])
        write(image, width: w, height: h, into: t.mutablePointer)
        return t
    }

    /// Preprocesses a batch to [N, 3, H, W]; all images must give the same output size.
    public func callAsFunction(_ images: [RGBImage]) throws -> Tensor {
        guard let first = images.first else { throw ImageError.emptyBatch }
        let (w, h) = try checkedOutputSize(first)
        for (i, image) in images.enumerated().dropFirst() {
            let (wi, hi) = try checkedOutputSize(image)
            guard wi == w, hi == h else {
                throw ImageError.batchShapeMismatch(index: i, expected: [3, h, w], found: [3, hi, wi])
            }
        }
        let t = Tensor.uninitialized([images.count, 3, h, w])
        for (i, image) in images.enumerated() {
            write(image, width: w, height: h, into: t.mutablePointer + i * 3 * h * w)
        }
        return t
    }

    private func checkedOutputSize(_ image: RGBImage) throws -> (Int, Int) {
        let r = resizedSize(width: image.width, height: image.height)
        let o = outputSize(width: image.width, height: image.height)
        let (w, h) = (o.width, o.height)
        // A resize to zero (e.g. shortest edge 0 in a config) or an absurd output is refused.
        guard r.width >= 1, r.height >= 1, w >= 1, h >= 1 else {
            throw ImageError.invalidSize(what: "preprocessing output", width: min(r.width, w), height: min(r.height, h))
        }
        guard w <= Self.maxOutputPixels / h else {
            throw ImageError.outputTooLarge(width: w, height: h, maxPixels: Self.maxOutputPixels)
        }
        return (w, h)
    }

    /// Per channel, the Float each byte value becomes: transformers' `rescale` (Double product, cast to
    /// Float) followed by `normalize` (Float subtraction and division).
    func lookupTables() -> [[Float]] {
        (0..<3).map { c in
            (0..<256).map { v -> Float in
                var x = rescaleFactor.map { Float(Double(v) * $0) } ?? Float(v)
                if let mean, let std { x = (x - Float(mean[c])) / Float(std[c]) }
                return x
            }
        }
    }

    private func write(_ image: RGBImage, width w: Int, height h: Int, into out: UnsafeMutablePointer<Float>) {
        let resized = resizedSize(width: image.width, height: image.height)
        let (rw, rh) = (resized.width, resized.height)
        // Crop offsets use Python's floor division so a crop larger than the image pads with zeros.
        let left = crop.map { floorDiv(rw - $0.width, 2) } ?? 0
        let top = crop.map { floorDiv(rh - $0.height, 2) } ?? 0
        // The part of the crop window that lies inside the resized image.
        let x0 = max(left, 0), y0 = max(top, 0)
        let x1 = min(left + w, rw), y1 = min(top + h, rh)
        let tables = lookupTables()
        let plane = w * h
        // Outside the image the crop pads with byte 0, which then goes through rescale/normalise.
        for c in 0..<3 { (out + c * plane).initialize(repeating: tables[c][0], count: plane) }
        guard x1 > x0, y1 > y0 else { return }
        let window = PillowResampler.Window(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
        let pixels: [UInt8]
        if rw == image.width && rh == image.height {
            pixels = Self.copyWindow(image, window)
        } else {
            pixels = PillowResampler.resample(image, width: rw, height: rh, filter: resample, window: window)
        }
        tables[0].withUnsafeBufferPointer { t0 in
        tables[1].withUnsafeBufferPointer { t1 in
        tables[2].withUnsafeBufferPointer { t2 in
        pixels.withUnsafeBufferPointer { src in
            guard let l0 = t0.baseAddress, let l1 = t1.baseAddress, let l2 = t2.baseAddress,
                  let s = src.baseAddress else { return }
            let r = out, g = out + plane, b = out + 2 * plane
            for y in 0..<window.height {
                let row = (y + y0 - top) * w + (x0 - left)
                var p = s + y * window.width * 3
                for x in 0..<window.width {
                    r[row + x] = l0[Int(p[0])]
                    g[row + x] = l1[Int(p[1])]
                    b[row + x] = l2[Int(p[2])]
                    p += 3
                }
            }
        }}}}
    }

    private static func copyWindow(_ image: RGBImage, _ window: PillowResampler.Window) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: window.width * window.height * 3)
        for y in 0..<window.height {
            let s = ((window.y + y) * image.width + window.x) * 3
            let d = y * window.width * 3
            for i in 0..<(window.width * 3) { out[d + i] = image.pixels[s + i] }
        }
        return out
    }
}

/// A width and height in pixels.
public struct ImageSize: Equatable, Hashable, Sendable {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

@inline(__always)
private func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
