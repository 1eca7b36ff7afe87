// `minimind-v sft`: upstream's supervised fine-tuning recipe (Docs/Model.md, "Recipes").
import ArgumentParser
import MiniMindV

struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning on image conversations (MiniMind2-V: projector + whole LM; minimind-3v: projector + LM layers 0 and last).",
        discussion: """
            Defaults are upstream's: MiniMind2-V lr 1e-6, batch 4, 2 epochs, 1536 tokens; minimind-3v lr 5e-6,
            batch 4, 2 epochs, 768 tokens. Start from --from-weights pretrain_vlm_<hidden>.pth. Writes
            <out>/sft_vlm_<hidden>[_moe].pth (fp16) and .safetensors, the resume file (sft_vlm_<hidden>_resume.safetensors), metrics and loss curve (_loss.svg).
            With --lora-rank R only LoRA adapters train (the weights stay frozen) and <out> gets adapter_config.json and
            adapter_model.safetensors in PEFT's layout instead of the weights: load them with --lora <out> (chat, caption,
            eval, serve) or fold them in with `minimind-v merge-lora`.
            """)

    @OptionGroup var options: TrainingOptions
    @OptionGroup var lora: LoRAOptions

    func run() throws { try options.run(stage: .sft, variant: TrainingVariant(lora: lora.config(baseModel: options.fromWeights ?? options.preset))) }
}
