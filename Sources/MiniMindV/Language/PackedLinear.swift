import Foundation

/// A `Linear` whose decode steps read a packed copy of its weight (`DecodeDType`): the fast-decode
/// layer that `MiniMindLM.setDecodeDType` swaps in for the float one, as quantising swaps layers.
/// It holds the same weight and bias tensors under the same keys, so saving, loading and training
/// see the float layer; only products of at most `maxRows` input rows without autograd (decode
/// steps, also batched) use the packed copy, and the bias is added either way. Prefill, image
/// encoding and training multiply the float32 weights. The copy is made once: later changes to the
/// float32 weights do not reach it (pack after the weights are final).
public final class PackedLinear: Linear {
    /// Input rows up to which the packed kernel is used (it reads each weight row once for all of them).
    public static let maxRows = 8

    public let dtype: DecodeDType
    let packed: PackedMatrix

    /// The packed layer over `layer`'s tensors, or nil when `dtype` keeps float32 or the weight
    /// cannot be packed (int8 rows that do not split into whole blocks).
    public init?(_ layer: Linear, dtype: DecodeDType) {
        guard let packed = PackedMatrix(layer.weight.pointer, rows: layer.outFeatures, cols: layer.inFeatures, dtype: dtype) else {
            return nil
        }
        self.packed = packed
        self.dtype = dtype
        let trainable = (layer.weight.requiresGrad, layer.bias?.requiresGrad)
        super.init(weight: layer.weight, bias: layer.bias)
        weight.requiresGrad = trainable.0
        if let b = trainable.1 { bias?.requiresGrad = b }
    }

    /// Bytes held by the packed copy (in addition to the float32 weight).
    public var packedByteCount: Int { packed.byteCount }

    /// The row count when the packed kernel serves `x`, else nil (many rows, or autograd recording).
    private func packedRows(_ x: Tensor) -> Int? {
        let rows = x.count / Swift.max(inFeatures, 1)
        guard rows <= Self.maxRows, !(GradMode.isEnabled && (x.needsGrad || weight.requiresGrad)) else { return nil }
        return rows
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        guard let rows = packedRows(x) else { return super.callAsFunction(x) }
        let y = Tensor.uninitialized(Array(x.shape.dropLast()) + [outFeatures])
        packed.multiply(x.pointer, m: rows, into: y.mutablePointer, accumulate: false)
        addBias(rows: rows, into: y.mutablePointer)
        return y
    }

    public override func accumulate(_ x: Tensor, into y: Tensor) {
        guard let rows = packedRows(x) else { return super.accumulate(x, into: y) }
        precondition(y.count == rows * outFeatures, "PackedLinear.accumulate: output \(y.shape) does not match \(rows) rows of \(outFeatures)")
        packed.multiply(x.pointer, m: rows, into: y.mutablePointer, accumulate: true)
        addBias(rows: rows, into: y.mutablePointer)
    }
}
