import Foundation
import MiniMindFormats

/// How a quantised model folder stores its linear weights: config.json's `quantization` field
/// (Docs/Formats.md, "Quantised model folders").
///
///     "quantization": {"scheme": "int4", "group_size": 32, "scale_dtype": "F16"}
public struct WeightQuantization: Codable, Equatable, Sendable {
    public enum Scheme: String, CaseIterable, Sendable {
        /// int8, symmetric, one scale per output channel (row).
        case int8
        /// int4, symmetric, one scale per 32 values of a row, two values per byte.
        case int4
    }

    /// "int8" or "int4" (a string so that an unknown one is a typed error, not a decoding failure).
    public var scheme: String
    /// Values per scale: 0 for int8 (the whole row), 32 for int4.
    public var groupSize: Int
    /// "F32" or "F16".
    public var scaleDType: String

    enum CodingKeys: String, CodingKey {
        case scheme, groupSize = "group_size", scaleDType = "scale_dtype"
    }

    /// The scheme with its fixed group size; scales f32 for int8 and f16 for int4 unless given.
    public init(_ scheme: Scheme, scaleDType: DType? = nil) {
        self.scheme = scheme.rawValue
        groupSize = scheme == .int8 ? 0 : WeightQuantizer.group
        self.scaleDType = (scaleDType ?? (scheme == .int8 ? .f32 : .f16)).rawValue
    }

    /// The checked fields: scheme, scale dtype, and the group size the scheme fixes.
    public func validated() throws -> (scheme: Scheme, scaleDType: DType) {
        guard let s = Scheme(rawValue: scheme) else {
            throw CompressionError.unknownValue(field: "quantization.scheme", value: scheme, allowed: Scheme.allCases.map(\.rawValue))
        }
        guard let d = DType(rawValue: scaleDType), d == .f32 || d == .f16 else {
            throw CompressionError.unknownValue(field: "quantization.scale_dtype", value: scaleDType, allowed: ["F32", "F16"])
        }
        let group = s == .int8 ? 0 : WeightQuantizer.group
        guard groupSize == group else {
            throw CompressionError.outOfRange(field: "quantization.group_size", value: "\(groupSize)", allowed: "\(group) for \(s.rawValue)")
        }
        return (s, d)
    }

    var bits: Int { scheme == Scheme.int4.rawValue ? 4 : 8 }

    /// The value a scale keeps in its storage dtype (quantising uses the stored scale, so the
    /// bound |w − q·s| ≤ s/2 holds for the scale the file has).
    static func storedScale(_ s: Float, _ dtype: DType) -> Float { dtype == .f16 ? Float(Float16(s)) : s }
}
