// `minimind-v distill`: knowledge distillation from a teacher model folder into a (smaller) student.
import ArgumentParser
import Foundation
import MiniMindV

struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Train a student on image conversations towards a frozen teacher's next-token distributions (knowledge distillation).",
        discussion: """
            loss = alpha·T²·KL(teacher ‖ student at temperature T) + (1 − alpha)·cross-entropy on the labels, over the
            assistant tokens. The teacher is a model folder; the student has its own size (--student-preset,
            --student-config, or inferred from --from-weights) but the teacher's tokenizer and vision tower
            (give --vision <teacher>/vision --tokenizer <teacher>). The data and recipe flags are sft's; the whole
            student trains by default. Writes <out>/distill_vlm_<hidden>.pth and .safetensors, the resume file,
            metrics and loss curve (Docs/Compression.md).
            """)

    @Option(name: .long, help: "Teacher model folder (config.json, model.safetensors, tokenizer, vision/).")
    var teacher: String

    @Option(name: .customLong("student-preset"), help: "Student preset (\(VLMPreset.allCases.map(\.rawValue).joined(separator: ", "))).")
    var studentPreset: String?

    @Option(name: .customLong("student-config"), help: "Student configuration: a model folder's config.json (VLMConfig).")
    var studentConfig: String?

    @Option(name: .long, help: "Softmax temperature T of both models' distributions (0.05…100).")
    var temperature: Double = 2

    @Option(name: .long, help: "Weight of the teacher term, 0…1; 1 − alpha weighs the label cross-entropy.")
    var alpha: Double = 0.5

    @Option(name: .customLong("teacher-cache"), help: "Folder for the teacher's top-k logits: written the first time a row is seen, read on later epochs instead of running the teacher.")
    var teacherCache: String?

    @Option(name: .customLong("teacher-top-k"), help: "Logits kept per position in --teacher-cache (1…4096, at most the vocabulary); the soft term then uses the teacher's distribution over them.")
    var teacherTopK: Int = 64

    @OptionGroup var options: TrainingOptions

    func validate() throws {
        if options.preset != nil { throw ValidationError("distill names the student's size with --student-preset, not --preset") }
        if studentPreset != nil && studentConfig != nil { throw ValidationError("give --student-preset or --student-config, not both") }
        if studentPreset == nil && studentConfig == nil && options.fromWeights == nil {
            throw ValidationError("give the student: --student-preset, --student-config or --from-weights")
        }
        try InputRange.check("--temperature", temperature, in: DistillationObjective.temperatureRange)
        try InputRange.check("--alpha", alpha, in: 0...1)
        try InputRange.check("--teacher-top-k", teacherTopK, in: TeacherLogitCache.topKRange)
    }

    func run() throws {
        let config: VLMConfig?
        if let studentPreset { config = try VLMPreset.named(studentPreset).config }
        else if let studentConfig {
            let url = TrainingOptions.url(studentConfig)
            guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError.missingFile(url.path) }
            let decoded = try JSONDecoder().decode(VLMConfig.self, from: Data(contentsOf: url))
            try decoded.validate()
            config = decoded
        } else { config = nil }
        let teacherModel = try VLMBundle.load(folder: TrainingOptions.url(teacher)).model
        FileHandle.standardError.write(Data("teacher: \(teacher), \(teacherModel.parameterCount()) parameters; T \(temperature), alpha \(alpha)\n".utf8))
        let cache = try teacherCache.map { try TeacherLogitCache(root: TrainingOptions.url($0), teacher: teacherModel, k: teacherTopK) }
        var made: DistillationObjective?
        let variant = TrainingVariant(
            config: config,
            recipeDefaults: { r in
                r.weightPrefix = "distill_vlm"
                r.trainable = ["vision_proj", "model", "lm_head"]  // a new student learns everywhere
            },
            objective: { student in
                FileHandle.standardError.write(Data("student: \(student.parameterCount()) parameters (\(String(format: "%.2f", Double(student.parameterCount()) / Double(teacherModel.parameterCount())))× the teacher)\n".utf8))
                let objective = try DistillationObjective(teacher: teacherModel, student: student, temperature: temperature,
                                                          alpha: alpha, cache: cache)
                made = objective
                return objective
            })
        try options.run(stage: .sft, variant: variant)
        if let made, let cache {
            FileHandle.standardError.write(Data("teacher cache \(cache.directory.path): \(made.cachedPositions) positions read, \(made.teacherPositions) computed by the teacher\n".utf8))
        }
    }
}
