// Stage checkpoints of a from-scratch run, in DIR/checkpoints/<k>-<stage>/: the trainer's resume
// file while a stage runs (written every `checkpointEvery` steps and when it is stopped), and when
// the stage is done the whole state (language model + projector, vision tower) and its record.
// `--resume` loads done stages and continues an interrupted one from its resume file; the vision
// stage (whose contrastive heads live outside the model) restarts from its beginning instead,
// which gives the same result because every stage is a function of its seed.
import Foundation

/// A finished stage as recorded in its stage.json (written last: its presence marks the stage done).
struct ScratchStageRecord: Codable {
    var name: String
    var steps: Int
    var totalSteps: Int
    var losses: [Double]
    var validationSteps: [Int]
    var validationLosses: [Double]
    var seconds: Double
    var heldOutLabel: String?
    var heldOutValue: Double?

    init(name: String, summary: TrainingSummary, heldOut: (label: String, value: Double)?) {
        self.name = name
        steps = summary.steps
        totalSteps = summary.totalSteps
        losses = summary.losses
        validationSteps = summary.validation.map(\.step)
        validationLosses = summary.validation.map(\.loss)
        seconds = summary.seconds
        heldOutLabel = heldOut?.label
        heldOutValue = heldOut?.value
    }

    var summary: TrainingSummary {
        var s = TrainingSummary(losses: losses, steps: steps, totalSteps: totalSteps, stoppedEarly: false, savedFiles: [])
        s.validation = zip(validationSteps, validationLosses).map { ValidationPoint(step: $0, loss: $1) }
        s.seconds = seconds
        return s
    }
}

/// The step counts a time budget chose, kept so that a resumed run uses the same ones.
struct ScratchPlan: Codable {
    var steps: [Int?] = [nil, nil, nil, nil]
}

struct ScratchCheckpoints {
    let folder: URL

    func stageFolder(_ index: Int, _ name: String) -> URL {
        let slug = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return folder.appendingPathComponent("\(index + 1)-" + String(slug).split(separator: "-").joined(separator: "-"))
    }

    func record(_ index: Int, _ name: String) throws -> ScratchStageRecord? {
        let url = stageFolder(index, name).appendingPathComponent("stage.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(ScratchStageRecord.self, from: Data(contentsOf: url)) } catch {
            throw ScratchError.checkpoint(path: url.path, reason: "unreadable stage record: \(error)")
        }
    }

    /// Saves the finished stage: weights first, the record last.
    func save(_ index: Int, _ record: ScratchStageRecord, model: MiniMindVLM, vision: ViTVisionEncoder) throws {
        let dir = stageFolder(index, record.name)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Safetensors.write(try StateDict(module: model), to: dir.appendingPathComponent("model.safetensors"))
            try Safetensors.write(try StateDict(module: vision), to: dir.appendingPathComponent("vision.safetensors"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(record).write(to: dir.appendingPathComponent("stage.json"), options: .atomic)
        } catch {
            throw ScratchError.checkpoint(path: dir.path, reason: "cannot save: \(error)")
        }
    }

    /// Loads a finished stage's weights into `model` and `vision`.
    func load(_ index: Int, _ name: String, model: MiniMindVLM, vision: ViTVisionEncoder) throws {
        let dir = stageFolder(index, name)
        for (file, module) in [("model.safetensors", model as Module), ("vision.safetensors", vision as Module)] {
            let url = dir.appendingPathComponent(file)
            do {
                let state = try Safetensors.read(url)
                var tensors: [String: Tensor] = [:]
                for (key, data) in state.entries { tensors[key] = try data.toTensor() }
                _ = try module.loadStateDict(tensors, strict: true)
            } catch {
                throw ScratchError.checkpoint(path: url.path, reason: "\(error) (a checkpoint of another run or settings? start without --resume)")
            }
        }
    }

    var planURL: URL { folder.appendingPathComponent("plan.json") }

    func plan() throws -> ScratchPlan {
        guard FileManager.default.fileExists(atPath: planURL.path) else { return ScratchPlan() }
        do { return try JSONDecoder().decode(ScratchPlan.self, from: Data(contentsOf: planURL)) } catch {
            throw ScratchError.checkpoint(path: planURL.path, reason: "unreadable plan: \(error)")
        }
    }

    func save(_ plan: ScratchPlan) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try JSONEncoder().encode(plan).write(to: planURL, options: .atomic)
        } catch {
            throw ScratchError.checkpoint(path: planURL.path, reason: "cannot save the plan: \(error)")
        }
    }

    /// Removes everything of an earlier run (a fresh start must not pick up its files).
    func clear() throws {
        guard FileManager.default.fileExists(atPath: folder.path) else { return }
        do { try FileManager.default.removeItem(at: folder) } catch {
            throw ScratchError.checkpoint(path: folder.path, reason: "cannot clear: \(error)")
        }
    }
}
