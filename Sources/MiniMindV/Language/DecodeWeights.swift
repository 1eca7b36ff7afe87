import Foundation

/// Packed decode copies (`DecodeDType`) of a language model's bias-free linear layers. The float32
/// weights stay: prefill (many rows) multiplies them with BLAS; only calls with at most `maxRows`
/// input rows — decode steps, also batched — read the packed copies.
final class DecodeWeights {
    let dtype: DecodeDType
    private let packed: [ObjectIdentifier: PackedMatrix]

    /// Input rows up to which the packed kernel is used (it reads each weight row once for all of them).
    static let maxRows = 8

    init(dtype: DecodeDType, linears: [Linear]) {
        self.dtype = dtype
        var packed: [ObjectIdentifier: PackedMatrix] = [:]
        for l in linears where l.bias == nil {
            if let p = PackedMatrix(l.weight.pointer, rows: l.outFeatures, cols: l.inFeatures, dtype: dtype) {
                packed[ObjectIdentifier(l)] = p
            }
        }
        self.packed = packed
    }

    /// Bytes held by the packed copies (in addition to the float32 weights).
    var byteCount: Int { packed.values.reduce(0) { $0 + $1.byteCount } }

    /// The packed copy of `linear` if one exists and `rows` is small enough to use it.
    func matrix(for linear: Linear, rows: Int) -> PackedMatrix? {
        rows <= Self.maxRows ? packed[ObjectIdentifier(linear)] : nil
    }
}
