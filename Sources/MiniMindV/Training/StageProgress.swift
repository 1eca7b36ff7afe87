// Progress lines for work in named stages (the demo's stages, `minimind-v eval`'s runs): done/total,
// rate, ETA and a stage-specific note (e.g. the loss), written at most every `interval` seconds so
// a log stays readable. `StageProgressCallback` drives it from a training run's events.
import Foundation

public final class StageProgress {
    private let sink: (String) -> Void
    private let interval: Double
    private var stage = "", unit = "", total = 0, done = 0, note = ""
    private var started = 0.0, lastPrint = 0.0
    private var running = false

    /// `sink` receives finished lines (commands write them to stderr; tests may drop them).
    public init(interval: Double = 2, sink: @escaping (String) -> Void) {
        self.interval = interval
        self.sink = sink
    }

    public static func stderr() -> StageProgress {
        StageProgress { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    }

    public func start(_ stage: String, total: Int, unit: String) {
        self.stage = stage
        self.total = max(total, 1)
        self.unit = unit
        done = 0
        note = ""
        started = monotonicSeconds()
        lastPrint = started
        sink("[\(stage)] \(total) \(unit)")
    }

    public func update(_ done: Int, note: String? = nil) {
        self.done = done
        if let note { self.note = note }
        let t = monotonicSeconds()
        if t - lastPrint >= interval {
            lastPrint = t
            sink(line(elapsed: t - started))
        }
    }

    public func finish(_ summary: String? = nil) {
        let elapsed = monotonicSeconds() - started
        sink("[\(stage)] done in \(Self.seconds(elapsed))" + (summary.map { ": " + $0 } ?? (note.isEmpty ? "" : ": " + note)))
    }

    /// For work that reports (stage, done, total) as it goes (`Evaluator.progress`): starts a stage
    /// when the name changes (finishing the one before), then updates it. `finishStep()` ends the last.
    public func step(_ stage: String, done: Int, total: Int, unit: String) {
        if stage != self.stage || !running {
            finishStep()
            start(stage, total: total, unit: unit)
            running = true
        }
        update(done)
    }

    public func finishStep() {
        if running { finish() }
        running = false
    }

    /// Free text between stages.
    public func log(_ text: String) { sink(text) }

    private func line(elapsed: Double) -> String {
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let pct = 100 * done / total
        var s = "[\(stage)] \(done)/\(total) \(unit) (\(pct)%) \(String(format: "%.1f", rate)) \(unit)/s, ETA \(Self.seconds(eta))"
        if !note.isEmpty { s += ", " + note }
        return s
    }

    public static func seconds(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }
}

/// Shows a training run (or each stage of a staged run) as `StageProgress` lines: the stage's
/// steps with rate and ETA, the smoothed loss and the last validation loss, and at the end how the
/// stage's time split into forward, backward and update.
public final class StageProgressCallback: TrainingCallback {
    public let progress: StageProgress
    private var smooth = 0.0, forward = 0.0, backward = 0.0, update = 0.0
    private var lastValidation: ValidationPoint?

    public init(_ progress: StageProgress) { self.progress = progress }

    public func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl {
        switch event {
        case .stageStarted(let info):
            smooth = 0; forward = 0; backward = 0; update = 0; lastValidation = nil
            progress.start(info.name, total: info.totalSteps, unit: "steps")
        case .step(let r):
            smooth = r.step == 1 ? r.loss : 0.9 * smooth + 0.1 * r.loss
            forward += r.forwardSeconds
            backward += r.backwardSeconds
            update += max(0, r.seconds - r.forwardSeconds - r.backwardSeconds)
            progress.update(r.step, note: note)
        case .validation(let point):
            lastValidation = point
            progress.update(point.step, note: note)
        case .stageFinished:
            progress.finish(String(format: "final loss %.3f (forward %.1f s, backward %.1f s, update %.1f s)",
                                   smooth, forward, backward, update))
        case .saved, .epochFinished: break
        }
        return .proceed
    }

    private var note: String {
        var s = String(format: "loss %.3f", smooth)
        if let v = lastValidation { s += String(format: ", validation loss %.3f (step %d)", v.loss, v.step) }
        return s
    }
}
