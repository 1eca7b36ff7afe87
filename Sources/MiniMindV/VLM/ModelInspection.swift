import Foundation

/// What `minimind-v inspect` says about a checkpoint's configuration. A model folder carries its
/// config.json, which is the truth about what shapes cannot tell (the head count: q_proj's rows are
/// heads × head_dim); the weights are checked against it. A bare weights file has no config, so the
/// preset its shapes match, or the decoder inferred from them, is reported instead.
public enum ModelInspection {
    /// The configuration lines for `path` (a folder or a weights file) whose tensors have `shapes`.
    public static func configurationLines(path: URL, shapes: [String: [Int]]) -> [String] {
        let configURL = path.appendingPathComponent("config.json")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path.path, isDirectory: &isDir), isDir.boolValue,
           FileManager.default.fileExists(atPath: configURL.path) {
            do {
                if TransformersVLMExport.isLayout(path) {
                    let config = try TransformersVLMExport.config(json: try JSONValue.load(configURL), shapes: shapes, vision: nil)
                    return ["config.json: upstream MiniMind-V transformers layout (model_type minimind-v; no vision weights)"]
                        + folderLines(config, shapes: shapes)
                }
                let config = try JSONDecoder().decode(VLMConfig.self, from: Data(contentsOf: configURL))
                return folderLines(config, shapes: shapes)
            } catch {
                return ["config.json: unreadable (\(error)); what the weights' shapes say instead:"] + inferredLines(shapes)
            }
        }
        return inferredLines(shapes)
    }

    static func folderLines(_ config: VLMConfig, shapes: [String: [Int]]) -> [String] {
        let lm = config.language
        var lines = ["config.json: decoder " + describe(lm) + ", context \(lm.maxPositionEmbeddings)",
                     "config.json: projector \(config.projector.rawValue) from \(config.vision.hiddenSize)-wide vision features; "
                         + "an image is \(config.imageTokens) tokens of '\(config.imagePlaceholder)' (id \(config.imageTokenId))"]
        if let q = config.quantization {
            lines.append("config.json: quantised linear layers, \(q.scheme) with \(q.scaleDType) scales (checked as the dense shapes they stand for)")
        }
        if let ranks = config.lowRank {
            lines.append("config.json: \(ranks.count) low-rank linear layers, ranks \(Set(ranks.values).sorted().map(String.init).joined(separator: ", "))")
        }
        let problems = contradictions(config, shapes: denseShapes(shapes, config))
        if problems.isEmpty {
            lines.append("weights: agree with config.json")
        } else {
            lines += problems.map { "weights CONTRADICT config.json: \($0)" }
        }
        let preset = VLMPreset.allCases.first { $0.config.language == lm && $0.config.projector == config.projector }
        lines.append("preset: \(preset?.rawValue ?? "none (its own configuration)")")
        return lines
    }

    /// The dense shapes of the layers a quantised (`P.weight_scale`) or low-rank (`P.down`/`P.up`)
    /// folder stores in another form, so the checks of a float folder apply to it.
    static func denseShapes(_ shapes: [String: [Int]], _ config: VLMConfig) -> [String: [Int]] {
        var out = shapes
        for key in shapes.keys where key.hasSuffix(".weight_scale") {
            out[key] = nil
            let values = String(key.dropLast("_scale".count))
            if config.quantization?.scheme == WeightQuantization.Scheme.int4.rawValue, let v = shapes[values], v.count == 2 {
                out[values] = [v[0], v[1] * 2]
            }
        }
        for path in (config.lowRank ?? [:]).keys {
            guard let d = shapes[path + ".down.weight"], let u = shapes[path + ".up.weight"], d.count == 2, u.count == 2 else { continue }
            out[path + ".weight"] = [u[0], d[1]]
            out[path + ".down.weight"] = nil
            out[path + ".up.weight"] = nil
            if let b = shapes[path + ".up.bias"] { out[path + ".bias"] = b; out[path + ".up.bias"] = nil }
        }
        return out
    }

    static func inferredLines(_ shapes: [String: [Int]]) -> [String] {
        var lines: [String] = []
        if let preset = ConfigInference.matchingPreset(for: shapes) {
            lines.append("preset: \(preset.rawValue)")
        } else if let lm = try? ConfigInference.language(from: shapes) {
            lines.append("preset: none matches; inferred decoder: " + describe(lm)
                         + (lm.qkNorm ? "" : " (heads assumed 8: without QK-norm the shapes give only heads × head_dim)"))
        } else {
            lines.append("preset: none (not a MiniMind language model)")
        }
        if let projector = ConfigInference.projector(from: shapes) {
            lines.append("projector: \(projector.kind.rawValue) from \(projector.visionDim)-wide vision features")
        }
        return lines
    }

    static func describe(_ lm: LanguageModelConfig) -> String {
        "hidden \(lm.hiddenSize), \(lm.numHiddenLayers) layers, heads \(lm.numAttentionHeads)/\(lm.numKeyValueHeads) "
            + "(head dim \(lm.headDim)), ffn \(lm.intermediateSize), vocab \(lm.vocabSize)"
            + (lm.moe.map { ", MoE \($0.numExperts) experts" } ?? "") + (lm.qkNorm ? ", QK-norm" : "")
    }

    /// Where the weights' shapes disagree with `config` (empty: they agree on everything shapes tell).
    public static func contradictions(_ config: VLMConfig, shapes: [String: [Int]]) -> [String] {
        let c = config.language
        let w: LanguageModelConfig
        do { w = try ConfigInference.language(from: shapes) } catch {
            return ["the weights hold no MiniMind decoder (\(error))"]
        }
        var out: [String] = []
        func check(_ what: String, weights: Int, config: Int, _ detail: String = "") {
            if weights != config { out.append("\(what) is \(weights) in the weights, \(config) in config.json\(detail)") }
        }
        check("vocabulary", weights: w.vocabSize, config: c.vocabSize)
        check("hidden size", weights: w.hiddenSize, config: c.hiddenSize)
        check("layer count", weights: w.numHiddenLayers, config: c.numHiddenLayers)
        check("q_proj width", weights: w.numAttentionHeads * w.headDim, config: c.numAttentionHeads * c.headDim,
              " (\(c.numAttentionHeads) heads × head dim \(c.headDim))")
        check("k_proj width", weights: w.numKeyValueHeads * w.headDim, config: c.numKeyValueHeads * c.headDim,
              " (\(c.numKeyValueHeads) KV heads × head dim \(c.headDim))")
        check("feed-forward size", weights: w.intermediateSize, config: c.intermediateSize)
        if w.qkNorm != c.qkNorm {
            out.append("QK-norm is \(w.qkNorm ? "present" : "absent") in the weights, \(c.qkNorm ? "on" : "off") in config.json")
        } else if c.qkNorm {
            check("head dim", weights: w.headDim, config: c.headDim)
        }
        check("MoE experts", weights: w.moe?.numExperts ?? 0, config: c.moe?.numExperts ?? 0)
        if let projector = ConfigInference.projector(from: shapes) {
            if projector.kind != config.projector {
                out.append("projector is \(projector.kind.rawValue) in the weights, \(config.projector.rawValue) in config.json")
            }
            check("projector input width", weights: projector.visionDim, config: config.vision.hiddenSize)
        } else {
            out.append("the weights have no projector (vision_proj.*)")
        }
        return out
    }
}
