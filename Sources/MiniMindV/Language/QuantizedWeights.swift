import Foundation
import MiniMindFormats

/// Quantised linear weights of a language model (Docs/Formats.md, "Quantised model folders"): the
/// attention projections and dense feed-forward layers become `PackedLinear`s over int8/int4 values
/// alone; embeddings, norms, the LM head and MoE experts stay float. On disk, layer `P` keeps its
/// key with the integer values and adds its scales:
///
///     P.weight        int8: I8 [out, in]        int4: U8 [out, in/2], value 2j low nibble, 2j+1 high, q + 8
///     P.weight_scale  int8: F32|F16 [out]       int4: F32|F16 [out, in/32]
public enum QuantizedWeights {
    /// The linear layers a scheme applies to, with their key paths.
    static func layers(of lm: any LinearLayerSwapping) -> [(path: String, layer: Linear)] {
        var out: [(String, Linear)] = []
        lm.swapLinears { path, layer in
            if path != "lm_head" { out.append((path, layer)) }
            return layer
        }
        return out
    }

    /// Quantises every float attention and dense feed-forward layer of `lm` whose input width is a
    /// multiple of 32 (the others stay float) in place; returns how many. Layers already quantised or
    /// factorised are left alone.
    @discardableResult
    public static func quantize(_ lm: any CompressibleLanguageModel, _ quantization: WeightQuantization) throws -> Int {
        let (scheme, scaleDType) = try quantization.validated()
        guard lm.weightQuantization == nil || lm.weightQuantization == quantization else {
            throw CompressionError.unknownValue(field: "quantization.scheme", value: quantization.scheme,
                                                allowed: [lm.weightQuantization!.scheme + " (the model's own)"])
        }
        var replaced: [String: Linear] = [:]
        for (path, layer) in layers(of: lm) where layer.storesDenseWeight && layer.inFeatures % WeightQuantizer.group == 0 {
            let bits = quantization.bits, cols = layer.inFeatures
            let group = scheme == .int8 ? cols : WeightQuantizer.group
            guard let (q, scales) = WeightQuantizer.quantize(layer.weight.pointer, rows: layer.outFeatures, cols: cols, group: group,
                                                             bits: bits, roundScale: { WeightQuantization.storedScale($0, scaleDType) }) else {
                let bad = layer.weight.buffer.firstIndex { !$0.isFinite } ?? 0
                throw CompressionError.nonFinite(name: path + ".weight", index: bad)
            }
            let packed = PackedMatrix(rows: layer.outFeatures, cols: cols, bits: bits, group: group, scales: scales) { Int(q[$0]) }
            replaced[path] = PackedLinear(packed: packed, dtype: bits == 8 ? .int8 : .int4, bias: layer.bias)
        }
        lm.swapLinears { path, layer in replaced[path] ?? layer }
        if !replaced.isEmpty { lm.weightQuantization = quantization }
        return replaced.count
    }

    /// The file tensors of `lm`'s quantised layers (nothing when it has none).
    public static func entries(of lm: any CompressibleLanguageModel) throws -> [(String, TensorData)] {
        guard let quantization = lm.weightQuantization else { return [] }
        let (scheme, scaleDType) = try quantization.validated()
        var out: [(String, TensorData)] = []
        for (path, layer) in layers(of: lm) {
            guard let packed = (layer as? PackedLinear)?.packed, !layer.storesDenseWeight,
                  let (q, scales, _) = packed.quantizedValues() else { continue }
            let rows = packed.rows, cols = packed.cols
            let values: TensorData
            if scheme == .int8 {
                values = try TensorData(dtype: .i8, shape: [rows, cols], bytes: q.withUnsafeBytes { Data($0) })
            } else {
                values = try TensorData(dtype: .u8, shape: [rows, cols / 2], bytes: Data(WeightQuantizer.packNibbles(q, rows: rows, cols: cols)))
            }
            let scaleShape = scheme == .int8 ? [rows] : [rows, cols / WeightQuantizer.group]
            out.append((path + ".weight", values))
            out.append((path + ".weight_scale", try TensorData(tensor: Tensor(shape: scaleShape, data: scales), dtype: scaleDType)))
        }
        return out
    }

    /// Swaps the layers of `lm` that `state` holds quantised (those with a `.weight_scale`) for
    /// packed layers over the file's values, checking dtypes, shapes and scales; returns `state`
    /// without those tensors, for the strict load of the rest. The values are reordered from the
    /// (memory-mapped) file straight into the packed layout: no float32 W is made.
    public static func load(_ state: StateDict, into lm: any CompressibleLanguageModel, _ quantization: WeightQuantization) throws -> StateDict {
        let (scheme, scaleDType) = try quantization.validated()
        var rest = state
        var replaced: [String: Linear] = [:]
        for (path, layer) in layers(of: lm) {
            let scaleName = path + ".weight_scale", weightName = path + ".weight"
            guard let scaleData = state[scaleName] else { continue }
            let rows = layer.outFeatures, cols = layer.inFeatures
            guard cols % WeightQuantizer.group == 0 else {
                throw CompressionError.unsupportedLayer(name: path, why: "\(cols) input columns are not a multiple of \(WeightQuantizer.group)")
            }
            let group = scheme == .int8 ? cols : WeightQuantizer.group
            let scaleShape = scheme == .int8 ? [rows] : [rows, cols / group]
            guard scaleData.dtype == scaleDType, scaleData.shape == scaleShape else {
                throw CompressionError.badTensor(name: scaleName, expected: "\(scaleDType.rawValue) \(scaleShape)",
                                                 found: "\(scaleData.dtype.rawValue) \(scaleData.shape)")
            }
            var scales = [Float](repeating: 0, count: scaleData.elementCount)
            scales.withUnsafeMutableBufferPointer { scaleData.copyFloats(to: $0.baseAddress!) }
            if let bad = scales.firstIndex(where: { !$0.isFinite || $0 < 0 }) { throw CompressionError.nonFinite(name: scaleName, index: bad) }
            guard let values = state[weightName] else { throw CompressionError.missingTensor(name: weightName) }
            let (dtype, shape): (DType, [Int]) = scheme == .int8 ? (.i8, [rows, cols]) : (.u8, [rows, cols / 2])
            guard values.dtype == dtype, values.shape == shape else {
                throw CompressionError.badTensor(name: weightName, expected: "\(dtype.rawValue) \(shape)", found: "\(values.dtype.rawValue) \(values.shape)")
            }
            let packed = values.withUnsafeBytes { raw in
                if scheme == .int8 {
                    let p = raw.bindMemory(to: Int8.self).baseAddress!
                    return PackedMatrix(rows: rows, cols: cols, bits: 8, group: group, scales: scales) { Int(p[$0]) }
                }
                let p = raw.bindMemory(to: UInt8.self).baseAddress!
                return PackedMatrix(rows: rows, cols: cols, bits: 4, group: group, scales: scales) { WeightQuantizer.nibble(p, $0) }
            }
            values.releasePages()
            replaced[path] = PackedLinear(packed: packed, dtype: scheme == .int8 ? .int8 : .int4, bias: layer.bias)
            rest[weightName] = nil
            rest[scaleName] = nil
        }
        guard !replaced.isEmpty else {
            throw CompressionError.missingTensor(name: "*.weight_scale (config.json says quantization \(quantization.scheme), the weights hold no quantised layer)")
        }
        lm.swapLinears { path, layer in replaced[path] ?? layer }
        lm.weightQuantization = quantization
        return rest
    }
}
