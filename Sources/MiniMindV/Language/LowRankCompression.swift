import Foundation

/// Low-rank compression (`minimind-v compress lowrank`): chosen linear layers W [out, in] become
/// `LowRankLinear` factors from W's SVD W = U·Σ·Vᵀ (LAPACKE `sgesdd`), keeping the r largest
/// singular values: up = U_r·√Σ_r, down = √Σ_r·V_rᵀ (the square roots split evenly so that both
/// factors train at similar scales). By Eckart–Young, ‖W − up·down‖²_F = Σ_{i≥r} σ_i², the
/// discarded singular values' squares.
public struct LowRankCompression {
    public enum Target: Equatable {
        /// Keep r singular values (at most min(in, out)).
        case rank(Int)
        /// Keep the fewest singular values whose squares reach this share (0 < E ≤ 1) of the total;
        /// 1 keeps them all, so the factors reproduce W to float rounding.
        case energy(Double)
    }

    /// One replaced layer: its rank, parameters before and after, and the share of Σσ² kept.
    public struct LayerReport: Equatable {
        public var path: String
        public var rank: Int
        public var parametersBefore: Int
        public var parametersAfter: Int
        public var energyKept: Double
    }

    public var target: Target
    /// Layers to factorise (key patterns, `KeyPattern` syntax: `model.layers.*.mlp`); empty: every
    /// attention and dense feed-forward layer (never the LM head, embeddings or MoE experts).
    public var layers: [KeyPattern]

    public init(target: Target, layers: [KeyPattern] = []) throws {
        switch target {
        case .rank(let r) where r < 1:
            throw CompressionError.outOfRange(field: "LowRankCompression.Target.rank", value: "\(r)", allowed: "1 or more")
        case .energy(let e) where !(e > 0 && e <= 1):
            throw CompressionError.outOfRange(field: "LowRankCompression.Target.energy", value: "\(e)", allowed: "0 < E ≤ 1")
        default: break
        }
        self.target = target
        self.layers = layers
    }

    /// The factors of W [out, in] (row-major) for `target`: down [rank, in], up [out, rank], and
    /// the singular values (all of them, descending).
    public static func factors(_ w: UnsafePointer<Float>, out: Int, in inF: Int, target: Target) throws
        -> (down: [Float], up: [Float], rank: Int, singularValues: [Float]) {
        let (u, s, vt) = try LAPACK.svd(w, rows: out, cols: inF)
        let k = s.count
        let rank: Int
        switch target {
        case .rank(let r): rank = Swift.min(r, k)
        case .energy(let e):
            let total = s.reduce(0.0) { $0 + Double($1) * Double($1) }
            var kept = 0.0, r = 0
            while r < k && (e >= 1 || kept < e * total) { kept += Double(s[r]) * Double(s[r]); r += 1 }
            rank = Swift.max(r, 1)
        }
        var down = [Float](repeating: 0, count: rank * inF), up = [Float](repeating: 0, count: out * rank)
        for i in 0..<rank {
            let root = s[i].squareRoot()
            for c in 0..<inF { down[i * inF + c] = root * vt[i * inF + c] }
            for r in 0..<out { up[r * rank + i] = u[r * k + i] * root }
        }
        return (down, up, rank, s)
    }

    /// Factorises the chosen float layers of `lm` in place; returns one report per layer.
    @discardableResult
    public func apply(to lm: any CompressibleLanguageModel) throws -> [LayerReport] {
        let chosen = QuantizedWeights.layers(of: lm).filter { path, layer in
            layer.storesDenseWeight && (layers.isEmpty || layers.contains { $0.matches(path) })
        }
        guard !chosen.isEmpty else { throw CompressionError.noMatchingLayers(pattern: layers.map(\.text).joined(separator: ",")) }
        var reports: [LayerReport] = []
        var replaced: [String: Linear] = [:]
        for (path, layer) in chosen {
            let out = layer.outFeatures, inF = layer.inFeatures
            if let bad = layer.weight.buffer.firstIndex(where: { !$0.isFinite }) {
                throw CompressionError.nonFinite(name: path + ".weight", index: bad)
            }
            let f = try Self.factors(layer.weight.pointer, out: out, in: inF, target: target)
            let down = Linear(weight: Tensor(shape: [f.rank, inF], data: f.down))
            let up = Linear(weight: Tensor(shape: [out, f.rank], data: f.up), bias: layer.bias)
            replaced[path] = LowRankLinear(down: down, up: up)
            let total = f.singularValues.reduce(0.0) { $0 + Double($1) * Double($1) }
            let kept = f.singularValues.prefix(f.rank).reduce(0.0) { $0 + Double($1) * Double($1) }
            reports.append(LayerReport(path: path, rank: f.rank, parametersBefore: out * inF, parametersAfter: f.rank * (out + inF),
                                       energyKept: total > 0 ? kept / total : 1))
        }
        lm.swapLinears { path, layer in replaced[path] ?? layer }
        return reports
    }
}
