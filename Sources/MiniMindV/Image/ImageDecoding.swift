import CStb
import Foundation

/// Refuses images whose header declares a size that would need absurd memory or time; hostile files
/// can declare 16k×16k in a few bytes (a 783 KB PNG of 16384×16384 took 1.6 GB to decode), and stb
/// would allocate and decode all of it. The header is read first (`stbi_info`), so the check comes
/// before any pixel allocation. The pixel default is PIL's `Image.MAX_IMAGE_PIXELS` (89,478,485,
/// above which PIL warns of a decompression bomb): at most ~256 MiB of RGB, plus stb's working copy.
public struct ImageDecodingLimits: Equatable, Sendable {
    public var maxSide: Int
    public var maxPixels: Int
    public static let pilMaxImagePixels = 1024 * 1024 * 1024 / 4 / 3
    public init(maxSide: Int = 16384, maxPixels: Int = ImageDecodingLimits.pilMaxImagePixels) {
        self.maxSide = maxSide
        self.maxPixels = maxPixels
    }
    public static let `default` = ImageDecodingLimits()

    func allows(width: Int, height: Int) -> Bool {
        width <= maxSide && height <= maxSide && width * height <= maxPixels
    }
}

/// What a header says, read without decoding the pixels.
public struct ImageInfo: Equatable, Sendable {
    public let format: ImageFormat
    public let width: Int
    public let height: Int
    /// Channels stored in the file (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
    public let channels: Int
}

extension RGBImage {
    /// Decodes JPEG, PNG, BMP, GIF (first frame), TGA (also PNM, PSD) from a file.
    public init(contentsOf url: URL, limits: ImageDecodingLimits = .default) throws {
        let data = try RGBImage.readFile(url)
        try self.init(data: data, limits: limits, source: url.path)
    }

    /// Decodes image bytes. RGBA and grey+alpha drop alpha (like PIL's `convert('RGB')`), grey is
    /// replicated, palettes are expanded, 16-bit samples keep their high byte.
    public init(data: Data, limits: ImageDecodingLimits = .default, source: String = "<bytes>") throws {
        self = try data.withUnsafeBytes { try RGBImage.decode($0, limits: limits, source: source) }
    }

    /// Format and size from the header only (cheap; no pixel decoding).
    public static func info(of data: Data, source: String = "<bytes>") throws -> ImageInfo {
        try data.withUnsafeBytes { try header($0, source: source) }
    }

    static func readFile(_ url: URL) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ImageError.fileNotFound(path: url.path)
        }
        guard !isDirectory.boolValue else { throw ImageError.unreadable(path: url.path, reason: "it is a directory") }
        do {
            return try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw ImageError.unreadable(path: url.path, reason: error.localizedDescription)
        }
    }

    static func header(_ bytes: UnsafeRawBufferPointer, source: String) throws -> ImageInfo {
        guard bytes.count > 0, let base = bytes.baseAddress else { throw ImageError.empty(source: source) }
        // stb takes an `int` length.
        guard bytes.count <= Int(Int32.max) else {
            throw ImageError.inputTooLarge(source: source, bytes: bytes.count, limit: Int(Int32.max))
        }
        let sniffed = ImageFormat.sniff(bytes)
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        let ok = stbi_info_from_memory(base.assumingMemoryBound(to: stbi_uc.self), Int32(bytes.count), &w, &h, &c)
        guard ok != 0 else {
            let reason = failureReason()
            if let format = sniffed { throw ImageError.corrupt(source: source, format: format, reason: reason) }
            throw ImageError.notAnImage(source: source, reason: reason)
        }
        // The only magic-less format stb accepts is TGA.
        return ImageInfo(format: sniffed ?? .tga, width: Int(w), height: Int(h), channels: Int(c))
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, limits: ImageDecodingLimits, source: String) throws -> RGBImage {
        let info = try header(bytes, source: source)
        try check(info.width, info.height, limits: limits, source: source)
        guard let base = bytes.baseAddress else { throw ImageError.empty(source: source) }
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        guard let decoded = stbi_load_from_memory(base.assumingMemoryBound(to: stbi_uc.self), Int32(bytes.count),
                                                  &w, &h, &c, 3) else {
            throw ImageError.corrupt(source: source, format: info.format, reason: failureReason())
        }
        defer { stbi_image_free(decoded) }
        let width = Int(w), height = Int(h)
        try check(width, height, limits: limits, source: source)
        let count = width * height * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let dst = buffer.baseAddress { dst.update(from: decoded, count: count) }
            initialized = count
        }
        return RGBImage(unchecked: width, height: height, pixels: pixels)
    }

    static func check(_ width: Int, _ height: Int, limits: ImageDecodingLimits, source: String) throws {
        guard width > 0, height > 0 else { throw ImageError.zeroSized(source: source, width: width, height: height) }
        guard limits.allows(width: width, height: height) else {
            throw ImageError.tooLarge(source: source, width: width, height: height,
                                      maxSide: limits.maxSide, maxPixels: limits.maxPixels)
        }
    }

    static func failureReason() -> String {
        guard let reason = stbi_failure_reason() else { return "unknown decoder error" }
        return String(cString: reason)
    }
}
