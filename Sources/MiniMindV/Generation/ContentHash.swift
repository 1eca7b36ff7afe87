import Foundation

/// FNV-1a 64 of bytes: a fast content key for caching image features (Foundation on Linux has no
/// CryptoKit). Not cryptographic — a key collision would reuse another image's features, which for
/// a local chat cache is an acceptable risk at 2⁻⁶⁴ per pair; the pixel size is mixed in as well.
public enum ContentHash {
    public static func fnv1a64<C: Collection>(_ bytes: C, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 where C.Element == UInt8 {
        var hash = seed
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// Hash of decoded pixels and their size (two files with the same pixels share features).
    public static func of(_ image: RGBImage) -> UInt64 {
        var hash = image.pixels.withUnsafeBufferPointer { fnv1a64($0) }
        for v in [image.width, image.height] {
            withUnsafeBytes(of: UInt64(v).littleEndian) { hash = fnv1a64($0, seed: hash) }
        }
        return hash
    }
}
