import Foundation

/// Why a teacher cannot distil into a student, or a distillation setting is out of range.
public enum DistillationError: Error, CustomStringConvertible, Equatable {
    /// Teacher and student embed different vocabularies: their next-token distributions do not compare.
    case vocabularyMismatch(teacher: Int, student: Int)
    /// The two models do not read images the same way (tower, image tokens or placeholder).
    case visionMismatch(String)

    public var description: String {
        switch self {
        case let .vocabularyMismatch(teacher, student):
            return "the teacher has a vocabulary of \(teacher) tokens and the student \(student): distillation needs the same tokenizer"
        case .visionMismatch(let why):
            return "teacher and student must share the vision encoder: \(why)"
        }
    }
}

/// Knowledge distillation (`distillationLoss`) from a frozen teacher into the trained model (the
/// student): on every micro-batch the teacher runs the same ids and the same vision features
/// (through its own projector) without autograd, and only its logits at the counted targets (the
/// assistant answers) are computed. Teacher and student may differ in width and depth; they share
/// the tokenizer (same vocabulary) and the vision tower, checked when the objective is made.
/// The student's MoE auxiliary loss, when it has one, is added as in `VisionLanguageObjective`.
/// With a `TeacherLogitCache` the teacher runs once per training row: its top-k logits are written
/// the first time a row is seen and read on every later epoch (the soft term then uses the top-k
/// distribution every time, `distillationLoss(student:teacher: TeacherTopK…)`); batches with
/// augmented images never repeat, so they bypass the cache and use the teacher's full logits.
///
///     let objective = try DistillationObjective(teacher: teacherBundle.model, student: student,
///                                               temperature: 2, alpha: 0.5)
///     let trainer = try VLMTrainer(model: student, recipe: recipe, samples: samples,
///                                  features: extractor, objective: objective)
public final class DistillationObjective: TrainingObjective {
    public let teacher: MiniMindVLM
    public let temperature: Float
    /// Weight of the soft (teacher) term; 1 − alpha weighs the label cross-entropy.
    public let alpha: Float

    /// Where the teacher's top-k logits are kept between epochs (nil: the teacher runs on every step).
    public let cache: TeacherLogitCache?
    /// Answer positions whose teacher logits came from the cache, and positions the teacher ran for.
    public private(set) var cachedPositions = 0, teacherPositions = 0

    public static let temperatureRange: ClosedRange<Double> = 0.05...100

    public init(teacher: MiniMindVLM, student: MiniMindVLM, temperature: Double, alpha: Double,
                cache: TeacherLogitCache? = nil) throws {
        try InputRange.check("DistillationObjective.temperature", temperature, in: Self.temperatureRange)
        try InputRange.check("DistillationObjective.alpha", alpha, in: 0...1)
        try Self.checkCompatible(teacher: teacher, student: student)
        self.teacher = teacher
        self.temperature = Float(temperature)
        self.alpha = Float(alpha)
        self.cache = cache
        teacher.eval()
        teacher.freeze()
    }

    /// Same vocabulary, same image tokens and placeholder, same vision configuration, and — when
    /// both carry a tower's weights — the same weights.
    public static func checkCompatible(teacher: MiniMindVLM, student: MiniMindVLM) throws {
        let t = teacher.config, s = student.config
        guard t.language.vocabSize == s.language.vocabSize,
              teacher.language.embeddingTable.shape[0] == student.language.embeddingTable.shape[0] else {
            throw DistillationError.vocabularyMismatch(teacher: teacher.language.embeddingTable.shape[0],
                                                       student: student.language.embeddingTable.shape[0])
        }
        guard t.imageTokenId == s.imageTokenId, t.imagePlaceholder == s.imagePlaceholder else {
            throw DistillationError.visionMismatch("image token \(t.imageTokenId) '\(t.imagePlaceholder)' vs \(s.imageTokenId) '\(s.imagePlaceholder)'")
        }
        guard t.vision == s.vision else {
            throw DistillationError.visionMismatch("the vision configurations differ (\(t.vision.hiddenSize)-wide \(t.imageTokens) tokens vs \(s.vision.hiddenSize)-wide \(s.imageTokens) tokens, or other fields)")
        }
        // A model loaded for text only has no tower weights to compare; the configuration then decides.
        if teacher.vision.takesImages && student.vision.takesImages && teacher.vision !== student.vision,
           VisionFeatureCache.identity(of: teacher.vision) != VisionFeatureCache.identity(of: student.vision) {
            throw DistillationError.visionMismatch("the two vision towers have different weights")
        }
    }

    public func loss(_ batch: TrainingBatch, model: MiniMindVLM, features: VisionFeatureExtractor?) throws -> Tensor {
        let counted = batch.targets.indices.filter { batch.targets[$0] != TrainingSample.ignoreLabel }
        let raw = try MiniMindVLM.visionFeatures(of: batch, features: features)
        let targets = counted.map { batch.targets[$0] }
        var loss: Tensor
        if let cache, alpha > 0, batch.imageAugmentation == nil {
            let top = try cachedTeacher(batch, features: raw, counted: counted, cache: cache)
            let studentLogits = logits(of: model, batch, features: raw, rows: counted)
            loss = distillationLoss(student: studentLogits, teacher: top, targets: targets, temperature: temperature, alpha: alpha)
        } else {
            let teacherLogits = noGrad { logits(of: teacher, batch, features: raw, rows: counted) }
            let studentLogits = logits(of: model, batch, features: raw, rows: counted)
            loss = distillationLoss(student: studentLogits, teacher: teacherLogits, targets: targets,
                                    temperature: temperature, alpha: alpha)
        }
        if let aux = model.language.auxiliaryLoss { loss = loss + aux }
        return loss
    }

    /// The teacher's top-k at the counted positions (ascending, as `counted`): read per sample from
    /// the cache; the samples it lacks go through the teacher in one forward and are written.
    private func cachedTeacher(_ batch: TrainingBatch, features: Tensor?, counted: [Int],
                               cache: TeacherLogitCache) throws -> TeacherTopK {
        let vocab = teacher.language.embeddingTable.shape[0]
        let rowsOf = Dictionary(grouping: counted) { $0 / batch.length }  // counted positions per sample
        let samples = rowsOf.keys.sorted()
        var parts: [Int: TeacherTopK] = [:], keys: [Int: String] = [:], missing: [Int] = []
        for b in samples {
            guard let key = TeacherLogitCache.rowKey(batch, sample: b, features: features) else { continue }
            keys[b] = key
            if let found = cache.load(key, rows: rowsOf[b]!.count, vocab: vocab) { parts[b] = found } else { missing += rowsOf[b]! }
        }
        if !missing.isEmpty {
            let computed = TeacherTopK(of: noGrad { logits(of: teacher, batch, features: features, rows: missing) }, k: cache.k)
            var next = 0
            for b in samples where parts[b] == nil {
                let n = rowsOf[b]!.count
                parts[b] = computed.rows(next..<(next + n))
                try cache.store(keys[b]!, parts[b]!)
                next += n
            }
            teacherPositions += missing.count
        }
        cachedPositions += counted.count - missing.count
        let ordered = samples.map { parts[$0]! }
        return TeacherTopK(k: cache.k, ids: ordered.flatMap(\.ids), logits: ordered.flatMap(\.logits))
    }

    /// Logits [rows.count, vocab] of `model` at the flat positions `rows` of the batch.
    private func logits(of model: MiniMindVLM, _ batch: TrainingBatch, features: Tensor?, rows: [Int]) -> Tensor {
        let images = features.map { model.project($0) }
        let h = model.embeddings(ids: batch.ids, batch: batch.batch, images: images,
                                 imagesPerSample: images == nil ? [] : batch.imagesPerSample)
        return model.language.logits(embeddings: h, keyPaddingMask: nil, rows: rows)
    }
}
