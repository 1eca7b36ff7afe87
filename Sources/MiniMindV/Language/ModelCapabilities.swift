import Foundation

// Capabilities a part may have beyond its seam protocol. `LanguageModel`, `Projector` and
// `VisionEncoder` are what every part must do (forward, decode, train); the passes below work on
// parts that also have one of these, found by a cast to the protocol (never to a concrete type).
// A part without the capability gets `ModelError.lacksCapability` (LoRA: `LoRAError.notAdaptable`).
// Like `DropoutTrainable`, each is used once per pass, never inside a forward.

/// A part whose linear layers can be replaced by key path, keys unchanged: LoRA attaches its
/// adapters this way, quantisation and low-rank compression replace layers, fast decode packs them.
/// `MiniMindLM` (attention, dense feed-forwards, LM head) and the built-in projectors have it.
public protocol LinearLayerSwapping: AnyObject {
    /// Replaces each swappable linear layer by `transform(key path, layer)` (`model.layers.3.self_attn.o_proj`,
    /// `lm_head`; a projector's paths are relative to it), in model order.
    func swapLinears(_ transform: (String, Linear) -> Linear)
}

/// A language model whose linear layers may take a compressed form a model folder records:
/// quantised (`QuantizedWeights`; `lm_head` stays float) or low-rank (`LowRankLinear`).
public protocol CompressibleLanguageModel: LanguageModel, LinearLayerSwapping {
    /// The scheme of the layers whose only weights are quantised values, nil when every layer is
    /// float. Set by `QuantizedWeights` when it swaps them in.
    var weightQuantization: WeightQuantization? { get set }
}

/// A language model that gives its final-norm hidden states together with the logits from one
/// forward (the grounding objective pairs them with the image tokens).
public protocol HiddenStatesLanguageModel: LanguageModel {
    /// Final-norm hidden states [rows.count, hidden] of the flat positions `rows` (b·T + t) and their
    /// logits [rows.count, vocab], with autograd.
    func hiddenStatesAndLogits(embeddings: Tensor, keyPaddingMask: Tensor?, rows: [Int]) -> (hidden: Tensor, logits: Tensor)
}

/// A language model made of the library's `DecoderBlock`s under `model.layers.<i>.` keys (MiniMind's
/// layout): structured pruning scores their channels and heads and rebuilds a smaller model.
public protocol DecoderBlockLanguageModel: LanguageModel {
    /// The blocks in forward order (a shared pair appears twice).
    var decoderBlocks: [DecoderBlock] { get }
    var rope: RoPETable { get }
    /// A new model of the same kind with `config` and random weights (pruning loads the kept ones into it).
    func makeEmpty(config: LanguageModelConfig) throws -> any LanguageModel
}

extension LanguageModel {
    /// This model as the capability `C` (e.g. `(any CompressibleLanguageModel).self`) that `use` needs;
    /// `ModelError.lacksCapability` naming both when it does not have it.
    public func capability<C>(_ capability: C.Type, for use: String) throws -> C {
        guard let c = self as? C else {
            throw ModelError.lacksCapability(part: "\(type(of: self))", capability: ModelError.protocolName(C.self), use: use)
        }
        return c
    }
}

extension ModelError {
    /// "CompressibleLanguageModel" for `(any CompressibleLanguageModel).self`.
    static func protocolName(_ type: Any.Type) -> String {
        let name = "\(type)"
        return name.hasPrefix("any ") ? String(name.dropFirst(4)) : name
    }
}
