import Foundation

/// Vision features kept on disk, one small file per image: `<root>/<encoder identity>/<image hash>.f32`
/// (a 16-byte header "MMVF", tokens, dim as UInt32 little-endian, then tokens·dim float32). The
/// encoder identity is the encoder's `fingerprint` (its config and weights, not its Swift type) with
/// the preprocessing, so another checkpoint or preprocessing never reads stale features. Files are
/// written atomically and memory-mapped on read.
public final class VisionFeatureCache {
    public let directory: URL

    public init(root: URL, encoderIdentity: String) throws {
        directory = root.appendingPathComponent(encoderIdentity, isDirectory: true)
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw TrainingDataError.unreadable(path: directory.path, reason: "cannot create the feature cache folder: \(error.localizedDescription)")
        }
    }

    /// The identity of an encoder + preprocessing: a hash of the encoder's fingerprint (config and
    /// weights) and the preprocessing.
    public static func identity(of encoder: any VisionEncoder) -> String {
        FeatureCacheKey.hex(encoder.fingerprint + "\npreprocessing \(encoder.preprocessing)")
    }

    func url(_ key: String) -> URL { directory.appendingPathComponent(key + ".f32") }

    public func contains(_ key: String) -> Bool { FileManager.default.fileExists(atPath: url(key).path) }

    /// The cached features [tokens, dim], or nil when absent or unreadable (then recomputed).
    public func load(_ key: String) -> Tensor? {
        guard let data = try? Data(contentsOf: url(key), options: .alwaysMapped), data.count >= 16 else { return nil }
        return data.withUnsafeBytes { raw -> Tensor? in
            guard raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == Self.magic else { return nil }
            let tokens = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            let dim = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            guard tokens > 0, dim > 0, data.count == 16 + tokens * dim * 4, let base = raw.baseAddress else { return nil }
            let t = Tensor.uninitialized([tokens, dim])
            memcpy(t.mutablePointer, base + 16, tokens * dim * 4)
            return t
        }
    }

    public func store(_ key: String, features: Tensor) throws {
        precondition(features.rank == 2, "VisionFeatureCache.store: features must be [tokens, dim], got \(features.shape)")
        var data = Data(capacity: 16 + features.count * 4)
        for v in [Self.magic, UInt32(features.shape[0]).littleEndian, UInt32(features.shape[1]).littleEndian, 0] {
            withUnsafeBytes(of: v) { data.append(contentsOf: $0) }
        }
        data.append(UnsafeBufferPointer(start: features.pointer, count: features.count))
        try data.write(to: url(key), options: .atomic)
    }

    static let magic: UInt32 = 0x4656_4D4D  // "MMVF" little-endian
}
