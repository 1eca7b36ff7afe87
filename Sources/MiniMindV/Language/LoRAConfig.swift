import Foundation

/// The numbers of a LoRA adapter (PEFT's `LoraConfig`): rank r, alpha (B·A is scaled by alpha / r),
/// dropout on the adapter's input in training, and the layers adapted, by name.
///
/// A target matches a layer as PEFT matches `target_modules`: the layer's key path equals it or
/// ends in "." + target (`q_proj` adapts every `model.layers.N.self_attn.q_proj`;
/// `model.layers.0.mlp.down_proj` only that one). `vision_proj` adapts every linear layer of the
/// projector. MoE experts and routers are not adapted.
///
///     var lora = LoRAConfig(rank: 8, alpha: 16)
///     lora.targets = ["q_proj", "v_proj"]
///     recipe.lora = lora          // VLMTrainer trains the adapters only
public struct LoRAConfig: Codable, Equatable, Sendable {
    /// Every linear layer of a decoder block: the default targets.
    public static let languageTargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    /// The target that names the projector's linear layers.
    public static let projectorTarget = "vision_proj"

    public var rank: Int
    public var alpha: Double
    /// Probability of zeroing an input element of the adapter in training (0 ≤ p < 1).
    public var dropout: Double
    public var targets: [String]
    /// rsLoRA (PEFT's `use_rslora`): scale alpha / √r instead of alpha / r.
    public var rsLoRA: Bool = false
    /// What the adapter was trained on (PEFT's `base_model_name_or_path`), recorded in adapter_config.json.
    public var baseModel: String?
    /// Modules trained in full next to the adapters and saved whole in the adapter file (PEFT's
    /// `modules_to_save`), e.g. `vision_proj`: a name matches every parameter key that starts with
    /// it + "." or contains "." + it + ".". nil or empty: none.
    public var modulesToSave: [String]?

    public init(rank: Int = 8, alpha: Double = 16, dropout: Double = 0.05, targets: [String] = LoRAConfig.languageTargets,
                rsLoRA: Bool = false, baseModel: String? = nil, modulesToSave: [String]? = nil) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.rsLoRA = rsLoRA
        self.baseModel = baseModel
        self.modulesToSave = modulesToSave
    }

    /// alpha / r (alpha / √r with rsLoRA).
    public var scale: Double { rsLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank) }

    /// Checks every number and name; errors name the field (`LoRAConfig.rank`), the value and the allowed range.
    public func validate() throws {
        try InputRange.check("LoRAConfig.rank", rank, in: 1...LoRALimits.maxRank)
        try InputRange.check("LoRAConfig.alpha", alpha, above: 0, upTo: LoRALimits.maxAlpha)
        try InputRange.check("LoRAConfig.dropout", dropout, in: 0...LoRALimits.maxDropout, note: "a probability below 1")
        guard !targets.isEmpty else {
            throw InputRangeError(field: "LoRAConfig.targets", value: "(none)", allowed: "one or more layer names, e.g. \(Self.languageTargets.joined(separator: ","))")
        }
        for t in targets where !Self.isValidTarget(t) {
            throw InputRangeError(field: "LoRAConfig.targets", value: "'\(TerminalText.escaped(t))'",
                                  allowed: "layer names or dotted key paths (letters, digits, '_', '.')")
        }
        for m in modulesToSave ?? [] where !Self.isValidTarget(m) {
            throw InputRangeError(field: "LoRAConfig.modulesToSave", value: "'\(TerminalText.escaped(m))'",
                                  allowed: "module names or dotted key paths (letters, digits, '_', '.')")
        }
    }

    /// True when the parameter `key` lies in the module `name` (PEFT's `modules_to_save` matching by suffix).
    static func isInModule(_ key: String, _ name: String) -> Bool {
        key.hasPrefix(name + ".") || key.contains("." + name + ".")
    }

    static func isValidTarget(_ t: String) -> Bool {
        !t.isEmpty && t.count <= 256 && !t.hasPrefix(".") && !t.hasSuffix(".") && !t.contains("..")
            && t.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "_" || $0 == "." }
    }

    /// PEFT's rule: `path` is the target or ends in "." + target.
    static func matches(_ target: String, _ path: String) -> Bool {
        path == target || path.hasSuffix("." + target)
    }
}

/// Upper limits of LoRA numbers from outside.
public enum LoRALimits {
    /// Far above useful ranks (they are usually 4–64) and low enough that r·(in + out) stays small.
    public static let maxRank = 4096
    public static let maxAlpha = 1e6
    /// The largest dropout probability (p = 1 would zero the adapter's input).
    public static let maxDropout = 0.999
}
