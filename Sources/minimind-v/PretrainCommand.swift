// `minimind-v pretrain`: upstream's vision-language pretraining recipe (Docs/Model.md, "Recipes").
import ArgumentParser
import MiniMindV

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Vision-language pretraining: train the projector (MiniMind2-V: and the last LM layer) on image captions.",
        discussion: """
            Defaults are upstream's: MiniMind2-V lr 4e-4, batch 16, 4 epochs, 640 tokens; minimind-3v lr 4e-4,
            batch 16, 2 epochs, 450 tokens, with its augmentations. Start from the text model (--from-weights
            llm_512.pth; the projector starts random). Writes <out>/pretrain_vlm_<hidden>[_moe].pth (fp16, as
            upstream) and .safetensors, <out>/pretrain_vlm_<hidden>_resume.safetensors, <out>/pretrain_vlm_metrics.jsonl and <out>/pretrain_vlm_<hidden>_loss.svg.
            Vision features are computed once per image and cached in <out>/feature-cache.
            """)

    @OptionGroup var options: TrainingOptions

    func run() throws { try options.run(stage: .pretrain) }
}
