// Flags shared by `minimind-v pretrain` and `minimind-v sft`; defaults come from the recipe (Docs/Model.md, "Recipes").
import ArgumentParser
import Foundation
import MiniMindV

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct TrainingOptions: ParsableArguments {
    @Argument(help: "Training data: a .parquet file (conversations + image_bytes) or a .jsonl file (with --images).")
    var data: String

    @Option(name: .long, help: "Image folder for .jsonl data (the 'image' field names files in it).")
    var images: String?

    @Option(name: .customLong("from-weights"), help: "Start weights (.pth / .safetensors, or upstream's transformers folder), e.g. llm_512.pth for pretrain, pretrain_vlm_512.pth for SFT. Default: random init.")
    var fromWeights: String?

    @Option(name: .long, help: "Vision encoder folder (Hugging Face CLIP/SigLIP layout).")
    var vision: String

    @Option(name: .long, help: "Tokenizer folder (tokenizer.json + tokenizer_config.json).")
    var tokenizer: String

    @Option(name: .long, help: "Model preset (\(VLMPreset.allCases.map(\.rawValue).joined(separator: ", "))); default: inferred from --from-weights.")
    var preset: String?

    @Option(name: .long, help: "The model's config.json (a MiniMindV model folder's), for a model no preset or weight shapes describe (e.g. the demo's).")
    var config: String?

    @Option(name: .long, help: "Epochs (recipe default).") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Samples per micro-batch, per rank under mpirun (recipe default).") var batchSize: Int?
    @Option(name: .long, help: "Base learning rate (recipe default).") var lr: Double?
    @Option(name: .customLong("max-seq-len"), help: "Truncate samples to this many tokens (recipe default).") var maxSeqLen: Int?
    @Option(name: .customLong("accumulation-steps"), help: "Micro-batches per optimizer step.") var accumulationSteps: Int?
    @Option(name: .customLong("grad-clip"), help: "Global gradient-norm clip (0 = off).") var gradClip: Double?
    @Option(name: .customLong("warmup-steps"), help: "Linear warmup micro-steps before the cosine (0 = upstream formula).") var warmupSteps: Int?
    @Option(name: .customLong("save-interval"), help: "Save weights and the resume file every N optimizer steps.") var saveInterval: Int?
    @Option(name: .long, help: "Output folder for release weights, resume file, metrics and loss curve.") var out: String = "out"
    @Flag(name: .long, help: "Continue the interrupted run saved in --out ({prefix}_{hidden}_resume.safetensors).") var resume = false
    @Option(name: .customLong("resume-from"), help: "Continue from this resume file.") var resumeFrom: String?
    @Option(name: .long, parsing: .upToNextOption, help: "Key patterns to train instead of the recipe's (e.g. vision_proj model.layers.7).")
    var trainable: [String] = []
    @Option(name: .long, parsing: .upToNextOption, help: "Key patterns to freeze after --trainable (e.g. '**.bias').")
    var freeze: [String] = []
    @Option(name: .long, help: "Compute threads, 1 up to max(64, 4 × cores) (default: all cores).") var threads: Int?
    @Flag(name: .customLong("no-shuffle"), help: "Keep the data order (default: seeded shuffle per epoch).") var noShuffle = false
    @Flag(name: .customLong("no-augment"), help: "Turn off minimind-3v's system-prompt / think-block augmentations.") var noAugment = false
    @Option(name: .customLong("max-steps"), help: "Stop after N optimizer steps (the schedule keeps its full length).") var maxSteps: Int?
    @Option(name: .long, help: "Metrics JSONL path (default: <out>/<stage>_vlm_metrics.jsonl).") var metrics: String?
    @Option(name: .customLong("max-samples"), help: "Use only the first N rows.") var maxSamples: Int?
    @Flag(name: .long, help: "Stop at the first malformed row instead of skipping it.") var strict = false
    @Option(name: .long, help: "Seed for shuffling and augmentation.") var seed: UInt64 = 42
    @Option(name: .customLong("feature-cache"), help: "Vision-feature cache folder (default: <out>/feature-cache).") var featureCache: String?
    @Flag(name: .customLong("pad-to-max-length"), help: "Run every batch at max_seq_len as upstream does (default: cut to the longest sample). Same loss for dense models; for MoE models upstream's router aux loss counts the padding, so only this flag reproduces upstream's MoE loss.")
    var padToMaxLength = false
    @Option(name: .customLong("length-buckets"), help: "Sort each window of N batches by sample length so batches carry little padding (default: off, upstream's order).")
    var lengthBuckets: Int?

    @OptionGroup(title: "Training remedies") var remedies: RemedyOptions
    @OptionGroup(title: "Data parallel (under mpirun)") var dataParallel: DataParallelOptions

    static func url(_ path: String) -> URL { URL(fileURLWithPath: (path as NSString).expandingTildeInPath) }

    func recipe(_ stage: TrainingRecipe.Stage, config: VLMConfig, variant: TrainingVariant = TrainingVariant()) -> TrainingRecipe {
        var r = stage == .pretrain ? TrainingRecipe.pretrain(for: config) : TrainingRecipe.sft(for: config)
        variant.recipeDefaults(&r)  // before the flags, which win
        if let epochs { r.epochs = epochs }
        if let batchSize { r.batchSize = batchSize }
        if let lr { r.learningRate = lr }
        if let maxSeqLen { r.maxSeqLen = maxSeqLen }
        if let accumulationSteps { r.accumulationSteps = accumulationSteps }
        if let gradClip { r.gradClip = gradClip == 0 ? nil : gradClip }  // negative or NaN: refused by validate()
        if let warmupSteps { r.warmupSteps = warmupSteps }
        if let saveInterval { r.saveInterval = saveInterval }
        if !trainable.isEmpty { r.trainable = trainable }
        r.frozen = freeze
        r.shuffle = !noShuffle
        if noAugment { r.augmentation = nil }
        r.maxSteps = maxSteps
        r.maxSamples = maxSamples
        r.strict = strict
        r.seed = seed
        r.padToMaxLength = padToMaxLength
        r.lengthBuckets = lengthBuckets
        r.precision = precision
        r.lora = variant.lora
        remedies.apply(to: &r)
        return r
    }

    @Option(name: .long, help: "Precision of the large matrix products, forward and backward: f32 (default, exact parity) or bf16 (bfloat16 inputs with float32 accumulation on AMX/AVX512-BF16; float32 weights and optimizer state; Docs/Distributed.md).")
    var precision: ComputePrecision = .f32

    func run(stage: TrainingRecipe.Stage, variant: TrainingVariant = TrainingVariant()) throws {
        let comm = try DistributedTraining.communicator()
        try DistributedTraining.run(comm) { try run(stage: stage, variant: variant, communicator: comm) }
    }

    /// One rank's run: rank 0 reads the resume file, reports progress and writes every file.
    private func run(stage: TrainingRecipe.Stage, variant: TrainingVariant, communicator comm: any Communicator) throws {
        try InputRange.setThreads(threads ?? DistributedTraining.defaultThreads(for: comm))
        if precision == .bf16 && !Compute.bf16Available && comm.isRoot {
            FileHandle.standardError.write(Data("note: --precision bf16 runs as f32 here: \(Compute.bf16Unavailability)\n".utf8))
        }
        let start = try fromWeights.map { try Weights.read(Self.url($0)) }
        let config: VLMConfig
        if preset != nil && self.config != nil { throw ValidationError("give --preset or --config, not both") }
        if let own = variant.config { config = own }
        else if let preset { config = try VLMPreset.named(preset).config }
        else if let file = self.config { config = try JSONDecoder().decode(VLMConfig.self, from: Data(contentsOf: Self.url(file))) }
        else if let fromWeights, let start, TransformersVLMExport.isLayout(Self.url(fromWeights)) {
            // Upstream's transformers folder says its own configuration (the tower comes from --vision).
            config = try TransformersVLMExport.config(json: try JSONValue.load(Self.url(fromWeights).appendingPathComponent("config.json")),
                                                      shapes: Weights.shapes(start), vision: nil)
        }
        else if let start { config = try ConfigInference.vlm(from: Weights.shapes(start)) }
        else { throw ValidationError("give --preset, or --from-weights to infer the model from") }
        // Every number is checked before the vision tower, tokenizer and data are read.
        try remedies.validateNumbers()
        let averaging = try dataParallel.averaging()
        try recipe(stage, config: config, variant: variant).validate()
        if let maxSeqLen {
            let positions = config.language.maxPositionEmbeddings
            try InputRange.check("--max-seq-len", maxSeqLen, in: 2...positions, note: "the model has \(positions) positions")
        }
        let encoder = try ViTVisionEncoder.load(folder: Self.url(vision))
        let model = try MiniMindVLM.forTraining(config: config, vision: encoder, startWeights: start,
                                                allowMissingProjector: stage == .pretrain, seed: seed)
        let tok = try Tokenizer(contentsOf: Self.url(tokenizer))
        let recipe = recipe(stage, config: model.config, variant: variant)
        let outDir = Self.url(out)
        let data = try openConversationDataset(Self.url(data), imageFolder: images.map(Self.url))
        let log = { (s: String) in if comm.isRoot { FileHandle.standardError.write(Data((s + "\n").utf8)) } }
        log("\(stage.rawValue): \(data.count) rows from \(self.data); trainable: "
            + (variant.lora.map { "LoRA r=\($0.rank) alpha=\($0.alpha) dropout=\($0.dropout) on \($0.targets.joined(separator: ","))" } ?? recipe.trainable.joined(separator: ", ")))
        if comm.size > 1 { log("data parallel: \(comm.size) ranks × batch \(recipe.batchSize), \(Threads.count) threads per rank, optimizer step \(averaging.shardOptimizer ? "sharded (ZeRO-1)" : "on every rank")") }
        // Rank 0 encodes the images into the feature cache first; the other ranks then read it.
        if !comm.isRoot { try comm.barrier() }
        let trainer = try VLMTrainer.forConversations(
            model: model, tokenizer: tok, recipe: recipe, data: data, objective: try variant.objective?(model),
            featureCache: featureCache.map(Self.url) ?? outDir.appendingPathComponent("feature-cache"),
            outputDirectory: comm.isRoot ? outDir : nil, warn: log,
            progress: { done, total in
                if done == total || done % 500 == 0 { log("vision features: \(done)/\(total) rows") }
            })
        if comm.isRoot { try comm.barrier() }
        trainer.communicator = comm
        trainer.gradientAveraging = averaging
        trainer.validation = try remedies.validationSet(for: trainer, tokenizer: tok, imageFolder: images.map(Self.url), warn: log)
        log("\(trainer.samples.count) samples, \(trainer.totalSteps) optimizer steps, \(model.parameterCount(trainableOnly: true)) trainable parameters")
        if comm.isRoot && (resume || resumeFrom != nil) {
            let file = resumeFrom.map(Self.url) ?? outDir.appendingPathComponent(trainer.resumeFileName)
            try trainer.resume(from: file)
            log("resumed at optimizer step \(trainer.position.optimizerSteps) (epoch \(trainer.position.epoch + 1))")
        }
        let metricsURL = metrics.map(Self.url) ?? outDir.appendingPathComponent("\(recipe.weightPrefix)_metrics.jsonl")
        try trainer.synchronizeInitialState()  // rank 0's weights, optimizer state and position on every rank
        let replicas = ReplicaCheckCallback(trainer)
        if comm.size > 1 {  // mpirun ends every rank on Ctrl-C; the last checkpoint stays
            trainer.callbacks = comm.isRoot ? [ProgressLineCallback(interval: 10), try MetricsLogCallback(url: metricsURL), replicas] : [replicas]
        } else {
            trainer.callbacks = [ProgressLineCallback(interval: 10), try MetricsLogCallback(url: metricsURL), InterruptCallback()]
            InterruptCallback.install()
        }
        if trainer.validation != nil && comm.isRoot {
            trainer.callbacks.append(ClosureCallback { event, _ in
                if case .validation(let p) = event { log("validation loss \(p.loss) at step \(p.step)") }
                return .proceed
            })
        }
        let stepsBefore = trainer.position.optimizerSteps, runStart = monotonicSeconds()
        let summary = try trainer.run()
        if let line = DistributedTraining.allreduceSummary(comm, steps: summary.steps - stepsBefore, seconds: monotonicSeconds() - runStart, overlapped: averaging.overlap) { log(line) }
        if let failure = replicas.failure { throw failure }
        if let best = summary.bestValidation {
            log("best validation loss \(best.loss) at step \(best.step): \(outDir.appendingPathComponent(trainer.bestWeightsFileName).path)")
        }
        log(trainer.stoppedByEarlyStopping ? "early stopping after step \(summary.steps): no validation improvement in \(recipe.earlyStopping?.patience ?? 0) checks"
            : summary.stoppedEarly
            ? "stopped after step \(summary.steps) of \(summary.totalSteps); continue with --resume"
            : "finished \(summary.steps) steps")
        for file in Set(summary.savedFiles.map(\.path)).sorted() { log("saved \(file)") }
    }
}

/// What a command built on these options changes in the run (`distill`: the student's own
/// configuration, its recipe defaults and the distillation objective); the default is plain training.
struct TrainingVariant {
    var config: VLMConfig?
    /// LoRA adapters to train instead of the model's weights (sft --lora-rank).
    var lora: LoRAConfig?
    var recipeDefaults: (inout TrainingRecipe) -> Void = { _ in }
    var objective: ((MiniMindVLM) throws -> TrainingObjective)?
}

/// Ctrl-C stops after the current optimizer step, saving the resume file; a second Ctrl-C exits at once.
final class InterruptCallback: TrainingCallback {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    static func install() {
        signal(SIGINT) { _ in
            if InterruptCallback.requested != 0 { _exit(130) }
            InterruptCallback.requested = 1
        }
    }

    func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl {
        InterruptCallback.requested != 0 ? .stop : .proceed
    }
}
