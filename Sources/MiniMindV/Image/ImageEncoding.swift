import CStb
import Foundation

/// PNG and JPEG encoding with stb_image_write (for demos, reports and debugging dumps).
extension RGBImage {
    /// Lossless PNG bytes.
    public func pngData() throws -> Data {
        try encode(format: "PNG") { context, base in
            stbi_write_png_to_func(appendToSink, context, Int32(width), Int32(height), 3, base, Int32(width * 3))
        }
    }

    /// Baseline JPEG bytes; `quality` 1...100.
    public func jpegData(quality: Int = 90) throws -> Data {
        guard (1...100).contains(quality) else {
            throw ImageError.encodingFailed(format: "JPEG", reason: "quality must be 1...100, found \(quality)")
        }
        return try encode(format: "JPEG") { context, base in
            stbi_write_jpg_to_func(appendToSink, context, Int32(width), Int32(height), 3, base, Int32(quality))
        }
    }

    /// Writes PNG or JPEG, chosen by the file extension (.png, .jpg, .jpeg).
    public func write(to url: URL, jpegQuality: Int = 90) throws {
        let data: Data
        switch url.pathExtension.lowercased() {
        case "png": data = try pngData()
        case "jpg", "jpeg": data = try jpegData(quality: jpegQuality)
        default:
            throw ImageError.encodingFailed(format: "'.\(url.pathExtension)'",
                                            reason: "use a .png, .jpg or .jpeg file name for \(url.path)")
        }
        do { try data.write(to: url) } catch {
            throw ImageError.encodingFailed(format: url.pathExtension.uppercased(),
                                            reason: "cannot write \(url.path): \(error.localizedDescription)")
        }
    }


    private func encode(format: String,
                        _ body: (UnsafeMutableRawPointer, UnsafeRawPointer) -> Int32) throws -> Data {
        // stb's sizes are `int`; the row stride must fit too.
        guard width * 3 <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageError.encodingFailed(format: format, reason: "image \(width)×\(height) is too large for stb")
        }
        let sink = Sink()
        let status: Int32 = withExtendedLifetime(sink) {
            pixels.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return 0 }
                return body(Unmanaged.passUnretained(sink).toOpaque(), base)
            }
        }
        guard status != 0, !sink.data.isEmpty else {
            throw ImageError.encodingFailed(format: format, reason: "stb_image_write reported failure")
        }
        return sink.data
    }
}

/// Collects the bytes stb_image_write emits.
private final class Sink { var data = Data() }

/// stb's write callback; `context` is an unretained `Sink`.
private func appendToSink(_ context: UnsafeMutableRawPointer?, _ bytes: UnsafeMutableRawPointer?, _ size: Int32) {
    guard let context, let bytes, size > 0 else { return }
    let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
    sink.data.append(bytes.assumingMemoryBound(to: UInt8.self), count: Int(size))
}
