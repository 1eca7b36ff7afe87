import Foundation

/// A 128-bit content fingerprint (two independent 64-bit multiply-xor lanes over 8-byte words) for
/// cache keys: identical bytes give identical keys; it is not a cryptographic hash.
public enum FeatureCacheKey {
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4 ^ UInt64(bytes.count)
        let words = bytes.count / 8
        for i in 0..<words {
            let w = bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            a = (a ^ w) &* 0x0000_0100_0000_01b3
            b = (b ^ (w &+ 0x9E37_79B9_7F4A_7C15)) &* 0xff51_afd7_ed55_8ccd
            b ^= b >> 29
        }
        for i in (words * 8)..<bytes.count {
            a = (a ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01b3
            b = (b ^ UInt64(bytes[i])) &* 0xff51_afd7_ed55_8ccd
        }
        return String(format: "%016llx%016llx", a, b)
    }

    public static func hex(_ data: Data) -> String { data.withUnsafeBytes { hex($0) } }

    public static func hex(_ text: String) -> String { hex(Data(text.utf8)) }

    public static func hex(_ tensor: Tensor) -> String {
        hex(UnsafeRawBufferPointer(start: UnsafeRawPointer(tensor.pointer), count: tensor.count * 4))
    }
}
