import Foundation

/// A linear layer stored as two factors, W ≈ up·down with down [rank, in] and up [out, rank]:
/// y = up(down(x)), rank·(in + out) parameters instead of in·out. Forward, decode (`accumulate`)
/// and training (autograd through both factors, which are ordinary trainable `Linear`s) all go
/// through the children. Keys: `P.down.weight`, `P.up.weight` (and `P.up.bias` for a layer with a
/// bias). `LowRankCompression` makes them from a dense layer's SVD; config.json's `lowRank`
/// records which layers a model folder holds this way.
public final class LowRankLinear: Linear {
    public let down: Linear
    public let up: Linear
    public var rank: Int { down.outFeatures }

    public init(down: Linear, up: Linear) {
        precondition(up.inFeatures == down.outFeatures, "LowRankLinear: up takes \(up.inFeatures) inputs, down gives \(down.outFeatures)")
        self.down = down
        self.up = up
        super.init(outFeatures: up.outFeatures, inFeatures: down.inFeatures, bias: nil)
        register(child: "down", down)
        register(child: "up", up)
    }

    /// Zero factors of `rank` in place of a layer of this shape (their values come from a load).
    public convenience init(inFeatures: Int, outFeatures: Int, rank: Int, bias: Bool) {
        self.init(down: Linear(inFeatures, rank, bias: false), up: Linear(rank, outFeatures, bias: bias))
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor { up(down(x)) }

    public override func accumulate(_ x: Tensor, into y: Tensor) { up.accumulate(down(x), into: y) }

    /// Swaps `lm`'s layers named in `ranks` (key path → rank) for zero factors of that rank: the
    /// structure of a low-rank model folder, before its weights load.
    public static func factorize(_ lm: any CompressibleLanguageModel, ranks: [String: Int]) throws {
        let layers = Dictionary(uniqueKeysWithValues: QuantizedWeights.layers(of: lm).map { ($0.path, $0.layer) })
        var replaced: [String: Linear] = [:]
        for (path, rank) in ranks.sorted(by: { $0.key < $1.key }) {
            guard let layer = layers[path] else { throw CompressionError.noMatchingLayers(pattern: "lowRank[\"\(path)\"]") }
            let most = Swift.min(layer.inFeatures, layer.outFeatures)
            guard (1...Swift.max(most, 1)).contains(rank) else {
                throw CompressionError.outOfRange(field: "lowRank[\"\(path)\"]", value: "\(rank)", allowed: "1…\(most)")
            }
            replaced[path] = LowRankLinear(inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, rank: rank, bias: layer.bias != nil)
        }
        lm.swapLinears { path, layer in replaced[path] ?? layer }
    }

    /// The factorised layers of `lm` with their ranks (nil when there are none).
    public static func ranks(of lm: any CompressibleLanguageModel) -> [String: Int]? {
        var out: [String: Int] = [:]
        for (path, layer) in QuantizedWeights.layers(of: lm) { if let f = layer as? LowRankLinear { out[path] = f.rank } }
        return out.isEmpty ? nil : out
    }
}
