import Foundation

/// A `Linear` whose decode steps read a packed copy of its weight (`DecodeDType`): the fast-decode
/// layer that `MiniMindLM.setDecodeDType` swaps in for the float one, as quantising swaps layers.
/// Two kinds:
/// - over a float layer (`init?(_:dtype:)`): it holds the same weight and bias tensors under the
///   same keys, so saving, loading and training see the float layer; prefill, image encoding and
///   training multiply the float32 weights. The copy is made once: later changes to the float32
///   weights do not reach it (pack after the weights are final).
/// - over quantised values alone (`init(packed:bias:)`, a quantised model folder): there is no
///   float32 weight (`storesDenseWeight` is false; the state dict holds only the bias), and the
///   paths that multiply many rows dequantise W for the one product and free it (frozen: no
///   gradient reaches W, one does reach the input).
/// Only products of at most `maxRows` input rows without autograd (decode steps, also batched)
/// use the packed kernel; the bias is added either way.
public final class PackedLinear: Linear {
    /// Input rows up to which the packed kernel is used (it reads each weight row once for all of them).
    public static let maxRows = 8

    public let dtype: DecodeDType
    let packed: PackedMatrix

    /// The packed layer over `layer`'s tensors, or nil when `dtype` keeps float32 or the weight
    /// cannot be packed (int8/int4 rows that do not split into whole blocks, non-finite weights).
    public init?(_ layer: Linear, dtype: DecodeDType) {
        guard layer.storesDenseWeight,
              let packed = PackedMatrix(layer.weight.pointer, rows: layer.outFeatures, cols: layer.inFeatures, dtype: dtype) else {
            return nil
        }
        self.packed = packed
        self.dtype = dtype
        let trainable = (layer.weight.requiresGrad, layer.bias?.requiresGrad)
        super.init(weight: layer.weight, bias: layer.bias)
        weight.requiresGrad = trainable.0
        if let b = trainable.1 { bias?.requiresGrad = b }
    }

    /// A layer whose only copy of W is `packed` (int8 or int4 from a quantised model folder).
    init(packed: PackedMatrix, dtype: DecodeDType, bias: Tensor?) {
        self.packed = packed
        self.dtype = dtype
        super.init(outFeatures: packed.rows, inFeatures: packed.cols, bias: bias)
    }

    /// Bytes held by the packed copy (in addition to the float32 weight, if the layer has one).
    public var packedByteCount: Int { packed.byteCount }

    /// The row count when the packed kernel serves `x`, else nil (many rows, or autograd recording).
    private func packedRows(_ x: Tensor) -> Int? {
        let rows = x.count / Swift.max(inFeatures, 1)
        guard rows <= Self.maxRows, !(GradMode.isEnabled && (x.needsGrad || weight.requiresGrad)) else { return nil }
        return rows
    }

    /// W as a float32 tensor for one product of many rows: the layer's own weight, or a transient
    /// dequantised copy when the packed values are all it has.
    private func denseWeight() -> Tensor {
        if storesDenseWeight { return weight }
        let w = Tensor.uninitialized([outFeatures, inFeatures])
        packed.dequantize(into: w.mutablePointer)
        return w
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        guard let rows = packedRows(x) else { return linear(x, weight: denseWeight(), bias: bias) }
        let y = Tensor.uninitialized(Array(x.shape.dropLast()) + [outFeatures])
        packed.multiply(x.pointer, m: rows, into: y.mutablePointer, accumulate: false)
        addBias(rows: rows, into: y.mutablePointer)
        return y
    }

    public override func accumulate(_ x: Tensor, into y: Tensor) {
        guard let rows = packedRows(x) else {
            let outF = outFeatures, inF = inFeatures, n = x.count / Swift.max(inF, 1)
            precondition(x.count == n * inF && y.count == n * outF,
                         "PackedLinear.accumulate: input \(x.shape) and output \(y.shape) do not match [\(outF), \(inF)]")
            let w = denseWeight()
            BLAS.gemm(transB: true, m: n, n: outF, k: inF, a: x.pointer, b: w.pointer, beta: 1, c: y.mutablePointer)
            addBias(rows: n, into: y.mutablePointer)
            return
        }
        precondition(y.count == rows * outFeatures, "PackedLinear.accumulate: output \(y.shape) does not match \(rows) rows of \(outFeatures)")
        packed.multiply(x.pointer, m: rows, into: y.mutablePointer, accumulate: true)
        addBias(rows: rows, into: y.mutablePointer)
    }
}
