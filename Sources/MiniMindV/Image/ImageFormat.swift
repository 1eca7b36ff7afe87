/// Container formats the stb decoder reads. Detection uses magic bytes; TGA has none and is
/// recognised only when stb decodes it.
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png, gif, bmp, tga, pnm, psd, hdr, pic

    /// The format named by the first bytes, or nil (TGA, or not an image).
    static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        func starts(with magic: [UInt8]) -> Bool {
            guard bytes.count >= magic.count else { return false }
            for (i, b) in magic.enumerated() where bytes[i] != b { return false }
            return true
        }
        if starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(with: Array("GIF8".utf8)) { return .gif }
        if starts(with: Array("BM".utf8)) { return .bmp }
        if starts(with: Array("8BPS".utf8)) { return .psd }
        if starts(with: Array("#?RADIANCE".utf8)) || starts(with: Array("#?RGBE".utf8)) { return .hdr }
        if starts(with: [0x53, 0x80, 0xF6, 0x34]) { return .pic }
        if starts(with: Array("P5".utf8)) || starts(with: Array("P6".utf8)) { return .pnm }
        return nil
    }
}
