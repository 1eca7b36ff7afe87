// `minimind-v sft --lora-rank R [--lora-alpha A] [--lora-dropout P] [--lora-targets LIST]`: LoRA
// fine-tuning (adapters only, saved in PEFT's layout); Docs/Compression.md, "LoRA".
import ArgumentParser
import MiniMindV

struct LoRAOptions: ParsableArguments {
    @Option(name: .customLong("lora-rank"), help: "Train LoRA adapters of this rank instead of the weights (1...\(LoRALimits.maxRank)); writes adapter_config.json + adapter_model.safetensors (PEFT's layout) to --out.")
    var rank: Int?

    @Option(name: .customLong("lora-alpha"), help: "LoRA alpha: the adapters' product B·A is scaled by alpha / rank (default: 2 × rank).")
    var alpha: Double?

    @Option(name: .customLong("lora-dropout"), help: "Dropout on the adapters' input in training, 0 ≤ p < 1 (default: 0).")
    var dropout: Double?

    @Option(name: .customLong("lora-targets"), help: "Comma-separated layer names to adapt (PEFT's target_modules; 'vision_proj' adapts the projector). Default: \(LoRAConfig.languageTargets.joined(separator: ",")).")
    var targets: String?

    @Option(name: .customLong("lora-modules-to-save"), help: "Comma-separated modules trained in full beside the adapters and saved whole in the adapter file (PEFT's modules_to_save), e.g. vision_proj.")
    var modulesToSave: String?

    func validate() throws {
        if rank == nil && (alpha != nil || dropout != nil || targets != nil || modulesToSave != nil) {
            throw ValidationError("--lora-alpha, --lora-dropout, --lora-targets and --lora-modules-to-save need --lora-rank")
        }
    }

    /// The adapters asked for (nil: no --lora-rank, full fine-tuning). Ranges are checked with the recipe.
    func config(baseModel: String?) -> LoRAConfig? {
        guard let rank else { return nil }
        let list = { (text: String) in text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) } }
        return LoRAConfig(rank: rank, alpha: alpha ?? 2 * Double(rank), dropout: dropout ?? 0,
                          targets: targets.map(list) ?? LoRAConfig.languageTargets, baseModel: baseModel,
                          modulesToSave: modulesToSave.map(list))
    }
}
