import Foundation

/// Why LoRA adapters cannot be attached, loaded or merged.
public enum LoRAError: Error, CustomStringConvertible, Equatable {
    /// A target names no layer LoRA can adapt in this model.
    case targetMatchesNothing(String, examples: [String])
    /// The model already carries adapters (merge them first, or train those).
    case alreadyAdapted(count: Int)
    /// The LM head shares the embedding table: an adapter on it would be merged into the embeddings too.
    case tiedHead
    /// The language model or projector is a user-defined one without swappable layers.
    case notAdaptable(String)
    /// An adapter file that cannot be used (`path`: the file, `reason`: the field or key and why).
    case adapterFile(path: String, reason: String)
    /// A module to save in full names no parameter, or one inside an adapted layer (it would be both).
    case moduleToSave(String, reason: String)

    public var description: String {
        switch self {
        case let .targetMatchesNothing(t, examples):
            return "LoRA target '\(TerminalText.escaped(t))' matches no adaptable linear layer (e.g. \(examples.prefix(4).joined(separator: ", "))); MoE experts and routers are not adapted"
        case .alreadyAdapted(let n): return "the model already has \(n) LoRA adapters; merge them (merge-lora) before adding new ones"
        case .tiedHead: return "lm_head shares the embedding table (tie_word_embeddings), so it cannot carry its own adapter"
        case .notAdaptable(let why): return "cannot attach LoRA adapters: \(why)"
        case let .adapterFile(path, reason): return "cannot use the LoRA adapter \(TerminalText.escaped(path)): \(reason)"
        case let .moduleToSave(name, reason): return "LoRA module to save '\(TerminalText.escaped(name))' \(reason)"
        }
    }
}

extension MiniMindVLM {
    /// Swaps every linear layer LoRA can adapt for `transform(key path, layer)`: the language model's
    /// (`LinearLayerSwapping`; MiniMindLM: attention, dense feed-forwards, LM head) and, when the
    /// projector has the capability too, the projector's (`vision_proj.vision_proj.0`, `vision_proj.mlp.1`, …).
    func swapAdaptableLinears(_ transform: (String, Linear) -> Linear) throws {
        guard let lm = language as? any LinearLayerSwapping else {
            throw LoRAError.notAdaptable("the language model \(type(of: language)) is not a LinearLayerSwapping")
        }
        lm.swapLinears(transform)
        (projector as? any LinearLayerSwapping)?.swapLinears { transform(LoRAConfig.projectorTarget + "." + $0, $1) }
    }

    /// Key paths of every adaptable linear layer, in model order.
    public func adaptableLinearPaths() throws -> [String] {
        var paths: [String] = []
        try swapAdaptableLinears { path, layer in paths.append(path); return layer }
        return paths
    }

    /// The adapted layers with their key paths (`model.layers.0.self_attn.q_proj`), in model order.
    public var loraLayers: [(String, LoRALinear)] {
        namedModules().compactMap { path, m in (m as? LoRALinear).map { (path, $0) } }
    }

    /// The adapters' tensors with their model keys (`….q_proj.lora_A.weight`, `….lora_B.weight`).
    public var loraParameters: [(String, Tensor)] {
        loraLayers.flatMap { path, l in [(path + ".lora_A.weight", l.loraA.weight), (path + ".lora_B.weight", l.loraB.weight)] }
    }

    /// The layer paths `targets` select (PEFT's matching; `vision_proj`: the projector's layers).
    /// Throws when nothing is selected, or a target selects nothing that is not one of the decoder
    /// block's layer names (an MoE model has no dense gate/up/down_proj; anything else is a typo).
    public func loraTargetPaths(_ targets: [String]) throws -> [String] {
        let paths = try adaptableLinearPaths()
        var chosen = Set<String>()
        for target in targets {
            let hits = target == LoRAConfig.projectorTarget
                ? paths.filter { $0.hasPrefix(target + ".") } : paths.filter { LoRAConfig.matches(target, $0) }
            if hits.isEmpty && !LoRAConfig.languageTargets.contains(target) {
                throw LoRAError.targetMatchesNothing(target, examples: paths)
            }
            chosen.formUnion(hits)
        }
        guard !chosen.isEmpty else { throw LoRAError.targetMatchesNothing(targets.joined(separator: ","), examples: paths) }
        return paths.filter(chosen.contains)
    }

    /// Attaches fresh adapters (A kaiming-uniform, B zero: the model's outputs are unchanged) to the
    /// layers `config.targets` select, seeded. Returns the adapted paths.
    @discardableResult
    public func attachLoRA(_ config: LoRAConfig, seed: UInt64) throws -> [String] {
        try config.validate()
        var g = SeededGenerator(seed: seed)
        var index: UInt64 = 0
        return try attachLoRA(paths: try loraTargetPaths(config.targets)) { _, layer in
            index += 1
            return LoRALinear(adapting: layer, rank: config.rank, alpha: Float(config.alpha), dropout: Float(config.dropout),
                              rsLoRA: config.rsLoRA, generator: &g, dropoutSeed: seed &+ 0x9E37_79B9 &* index)
        }
    }

    /// Swaps `make(layer)` in for the layer at each of `paths` (all checked first: nothing changes on error).
    @discardableResult
    func attachLoRA(paths: [String], _ make: (String, Linear) -> LoRALinear) throws -> [String] {
        let existing = loraLayers.count
        guard existing == 0 else { throw LoRAError.alreadyAdapted(count: existing) }
        let wanted = Set(paths)
        // A chosen layer that shares the embedding table (a tied LM head) cannot carry its own adapter.
        var tied = false
        try swapAdaptableLinears { path, layer in
            if wanted.contains(path) && layer.weight === language.embeddingTable { tied = true }
            return layer
        }
        guard !tied else { throw LoRAError.tiedHead }
        try swapAdaptableLinears { path, layer in wanted.contains(path) ? make(path, layer) : layer }
        return paths
    }

    /// Makes the adapters and the modules to save the only trainable tensors (attaching `config`'s
    /// adapters first when the model has none) and returns them: what `VLMTrainer` optimizes when the
    /// recipe has `lora`.
    public func prepareLoRATraining(_ config: LoRAConfig, seed: UInt64) throws -> [(String, Tensor)] {
        // Checked before anything is attached: nothing changes on error.
        let saved = try parametersToSave(config.modulesToSave ?? [],
                                         adapted: loraLayers.isEmpty ? try loraTargetPaths(config.targets) : loraLayers.map(\.0))
        if loraLayers.isEmpty { try attachLoRA(config, seed: seed) }
        freeze()
        let trained = loraParameters + saved
        for (_, t) in trained { t.requiresGrad = true }
        return trained
    }

    /// The parameters (with their keys) of the modules `names` select, trained and saved in full
    /// beside the adapters. Throws when a name selects nothing, or a parameter of an adapted layer
    /// (`adapted`: those layers' paths; default: the layers adapted now).
    public func parametersToSave(_ names: [String], adapted: [String]? = nil) throws -> [(String, Tensor)] {
        guard !names.isEmpty else { return [] }
        let adapted = adapted ?? loraLayers.map(\.0)
        var chosen: [(String, Tensor)] = []
        for name in names {
            let hits = namedParameters().filter { LoRAConfig.isInModule($0.0, name) }
            guard !hits.isEmpty else {
                throw LoRAError.moduleToSave(name, reason: "matches no parameter (e.g. \(namedParameters().prefix(3).map(\.0).joined(separator: ", ")))")
            }
            if let inside = hits.first(where: { key, _ in adapted.contains { key.hasPrefix($0 + ".") } }) {
                throw LoRAError.moduleToSave(name, reason: "contains \(inside.0), a tensor of an adapted layer")
            }
            let known = Set(chosen.map { ObjectIdentifier($0.1) })
            chosen += hits.filter { !known.contains(ObjectIdentifier($0.1)) }
        }
        return chosen
    }

    /// Folds every adapter into its layer (W ← W + scale·B·A, a new weight tensor) and removes the
    /// adapters: the model is then a plain one with the adapted behaviour. Returns the merged paths.
    @discardableResult
    public func mergeLoRA() throws -> [String] {
        var merged: [String] = []
        try swapAdaptableLinears { path, layer in
            guard let lora = layer as? LoRALinear else { return layer }
            merged.append(path)
            return lora.merged()
        }
        return merged
    }
}
