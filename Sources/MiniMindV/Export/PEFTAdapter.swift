import Foundation

/// LoRA adapters in Hugging Face PEFT's folder layout, which `PeftModel.from_pretrained(base, DIR)`
/// loads and `save_pretrained` writes:
///
///     adapter_config.json        peft_type "LORA", task_type "CAUSAL_LM", r, lora_alpha, lora_dropout,
///                                target_modules, bias "none", use_rslora, base_model_name_or_path, …
///     adapter_model.safetensors  base_model.model.<layer key path>.lora_A.weight  [r, in]
///                                base_model.model.<layer key path>.lora_B.weight  [out, r]
///                                base_model.model.<parameter key>  (whole, for `modules_to_save`)
///
/// The layer key paths are the model's (`model.layers.3.self_attn.q_proj`: transformers' names for
/// the language model; `vision_proj.…` for the projector). Reading checks every field and tensor
/// against the model before anything is attached; variants this code does not compute (DoRA, bias
/// training, per-layer rank or alpha patterns) are refused by name.
public enum PEFTAdapter {
    public static let configFileName = "adapter_config.json"
    public static let weightsFileName = "adapter_model.safetensors"
    static let keyPrefix = "base_model.model."

    /// True when `folder` holds an adapter_config.json.
    public static func isAdapter(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(configFileName).path)
    }

    /// Writes `model`'s adapters (attached with `config`) into `folder`, each file atomically.
    @discardableResult
    public static func write(_ model: MiniMindVLM, config: LoRAConfig, to folder: URL) throws -> [URL] {
        let layers = model.loraLayers
        guard !layers.isEmpty else { throw LoRAError.notAdaptable("the model has no LoRA adapters to save") }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var state = StateDict()
        for (key, tensor) in model.loraParameters { state[keyPrefix + key] = try TensorData(tensor: tensor) }
        // Modules trained in full are saved whole under their own keys, as PEFT saves modules_to_save.
        let modules = config.modulesToSave ?? []
        for (key, tensor) in try model.parametersToSave(modules) { state[keyPrefix + key] = try TensorData(tensor: tensor) }
        // The projector target is written as the layer paths it selected, which PEFT matches as they are.
        var targets = config.targets.filter { $0 != LoRAConfig.projectorTarget }
        if config.targets.contains(LoRAConfig.projectorTarget) {
            targets += layers.map(\.0).filter { $0.hasPrefix(LoRAConfig.projectorTarget + ".") }
        }
        let json: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": config.rank, "lora_alpha": config.alpha,
            "lora_dropout": config.dropout, "target_modules": targets, "bias": "none", "use_rslora": config.rsLoRA,
            "use_dora": false, "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true,
            "base_model_name_or_path": config.baseModel ?? NSNull(), "modules_to_save": modules.isEmpty ? NSNull() as Any : modules as Any,
            "layers_to_transform": NSNull(), "layers_pattern": NSNull(), "rank_pattern": [String: Any](),
            "alpha_pattern": [String: Any](), "lora_bias": false, "revision": NSNull(),
        ]
        let configURL = folder.appendingPathComponent(configFileName), weightsURL = folder.appendingPathComponent(weightsFileName)
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]).write(to: configURL, options: .atomic)
        try Safetensors.write(state, to: weightsURL, metadata: ["format": "pt"])
        return [configURL, weightsURL]
    }

    /// Reads adapter_config.json: the numbers are checked (typed errors naming the field).
    public static func readConfig(_ folder: URL) throws -> LoRAConfig {
        let url = folder.appendingPathComponent(configFileName)
        func fail(_ why: String) -> LoRAError { .adapterFile(path: url.path, reason: why) }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelError.missingFile("\(url.path) (a PEFT adapter folder has \(configFileName) and \(weightsFileName))")
        }
        let json = try JSONValue.load(url)
        guard json.objectValue != nil else { throw fail("not a JSON object") }
        guard json["peft_type"]?.stringValue == "LORA" else {
            throw fail("peft_type is \(json["peft_type"]?.stringValue.map(TerminalText.escaped) ?? "missing or not a string"), only LORA adapters are supported")
        }
        // Variants whose arithmetic differs from W + scale·B·A, or that carry more than A and B.
        for flag in ["use_dora", "fan_in_fan_out", "lora_bias"] where json[flag]?.boolValue == true {
            throw fail("\(flag) is true, which is not supported")
        }
        if let bias = json["bias"], bias != .null, bias.stringValue != "none" { throw fail("bias is \(bias.stringValue ?? "not a string"), only \"none\" is supported") }
        for field in ["rank_pattern", "alpha_pattern"] {
            if let v = json[field], v != .null, !(v.objectValue?.isEmpty ?? false) { throw fail("\(field) is not empty, which is not supported") }
        }
        var modules: [String]?
        if let v = json["modules_to_save"], v != .null {
            guard let items = v.arrayValue, items.allSatisfy({ $0.stringValue.map(LoRAConfig.isValidTarget) ?? false }) else {
                throw fail("modules_to_save is not a list of module names")
            }
            modules = items.isEmpty ? nil : items.compactMap(\.stringValue)
        }
        guard let r = json["r"]?.intValue else { throw fail("r is missing or not an integer") }
        guard let alpha = json["lora_alpha"]?.doubleValue else { throw fail("lora_alpha is missing or not a number") }
        var dropout = 0.0
        if let v = json["lora_dropout"], v != .null {
            guard let d = v.doubleValue else { throw fail("lora_dropout is not a number") }
            dropout = d
        }
        let targets: [String]
        switch json["target_modules"] {
        case .array(let items)?: targets = items.compactMap(\.stringValue)
        case .string(let s)?: targets = [s]  // a regular expression: the tensors' keys decide the layers
        default: targets = []
        }
        let config = LoRAConfig(rank: r, alpha: alpha, dropout: dropout, targets: targets,
                                rsLoRA: json["use_rslora"]?.boolValue ?? false, baseModel: json["base_model_name_or_path"]?.stringValue,
                                modulesToSave: modules)
        do {
            try InputRange.check("\(configFileName) r", r, in: 1...LoRALimits.maxRank)
            try InputRange.check("\(configFileName) lora_alpha", alpha, above: 0, upTo: LoRALimits.maxAlpha)
            try InputRange.check("\(configFileName) lora_dropout", dropout, in: 0...LoRALimits.maxDropout)
        } catch let e as InputRangeError { throw fail(e.description) }
        return config
    }

    /// Reads the adapter in `folder` and attaches it to `model` (nothing changes on error). The
    /// tensors' keys decide which layers are adapted; each needs its A [r, in] and B [out, r].
    @discardableResult
    public static func load(folder: URL, into model: MiniMindVLM) throws -> LoRAConfig {
        let config = try readConfig(folder)
        let url = folder.appendingPathComponent(weightsFileName)
        func fail(_ why: String) -> LoRAError { .adapterFile(path: url.path, reason: why) }
        guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError.missingFile(url.path) }
        let file = try Safetensors.read(url)
        var shapes: [String: (in: Int, out: Int)] = [:]
        try model.swapAdaptableLinears { path, layer in shapes[path] = (layer.inFeatures, layer.outFeatures); return layer }
        var factors: [String: (a: TensorData?, b: TensorData?)] = [:]
        // Whole tensors of the modules to save: the model's parameters of those modules, by key.
        let modules = config.modulesToSave ?? []
        let savable = Dictionary(model.namedParameters().filter { key, _ in modules.contains { LoRAConfig.isInModule(key, $0) } },
                                 uniquingKeysWith: { a, _ in a })
        var whole: [(Tensor, TensorData)] = []
        for (key, data) in file.entries {
            let name = TerminalText.escaped(key)
            if key.hasPrefix(keyPrefix), let target = savable[String(key.dropFirst(keyPrefix.count))] {
                guard data.dtype.isFloatingPoint else { throw fail("tensor \(name) has dtype \(data.dtype.rawValue), not a floating-point type") }
                guard data.shape == target.shape else { throw fail("tensor \(name) has shape \(data.shape), the model's is \(target.shape)") }
                whole.append((target, data))
                continue
            }
            guard key.hasPrefix(keyPrefix), let dot = key.range(of: ".lora_", options: .backwards),
                  ["lora_A.weight", "lora_B.weight"].contains(key[key.index(after: dot.lowerBound)...]) else {
                throw fail("tensor \(name) is not a LoRA factor (\(keyPrefix)<layer>.lora_A.weight / .lora_B.weight)")
            }
            let path = String(key[key.index(key.startIndex, offsetBy: keyPrefix.count)..<dot.lowerBound])
            guard let dims = shapes[path] else { throw fail("tensor \(name) names layer \(TerminalText.escaped(path)), which this model has no adaptable linear layer at") }
            guard data.dtype.isFloatingPoint else { throw fail("tensor \(name) has dtype \(data.dtype.rawValue), not a floating-point type") }
            let isA = key.hasSuffix("lora_A.weight")
            let want = isA ? [config.rank, dims.in] : [dims.out, config.rank]
            guard data.shape == want else { throw fail("tensor \(name) has shape \(data.shape), expected \(want) (r = \(config.rank))") }
            if isA { factors[path, default: (nil, nil)].a = data } else { factors[path, default: (nil, nil)].b = data }
        }
        guard !factors.isEmpty else { throw fail("it holds no LoRA tensors") }
        for (path, f) in factors where f.a == nil || f.b == nil {
            throw fail("layer \(TerminalText.escaped(path)) has lora_\(f.a == nil ? "A" : "B") missing")
        }
        var tensors: [String: (a: Tensor, b: Tensor)] = [:]
        for (path, f) in factors { if let a = f.a, let b = f.b { tensors[path] = (try a.toTensor(), try b.toTensor()) } }
        let replacements = try whole.map { ($0.0, try $0.1.toTensor()) }
        var index: UInt64 = 0
        try model.attachLoRA(paths: try model.adaptableLinearPaths().filter { tensors[$0] != nil }) { path, layer in
            index += 1
            let (a, b) = tensors[path] ?? (.zeros([config.rank, layer.inFeatures]), .zeros([layer.outFeatures, config.rank]))
            return LoRALinear(adapting: layer, a: a, b: b, alpha: Float(config.alpha), dropout: Float(config.dropout),
                              rsLoRA: config.rsLoRA, dropoutSeed: index)
        }
        for (target, value) in replacements { target.mutablePointer.update(from: value.pointer, count: value.count) }
        return config
    }
}
