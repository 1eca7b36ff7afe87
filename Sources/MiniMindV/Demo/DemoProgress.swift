// Progress lines for the demo's stages: done/total, rate, ETA and a stage-specific note (e.g. the
// loss), written at most every `interval` seconds so a log stays readable.
import Foundation

public final class DemoProgress {
    private let sink: (String) -> Void
    private let interval: Double
    private var stage = "", unit = "", total = 0, done = 0, note = ""
    private var started = 0.0, lastPrint = 0.0

    /// `sink` receives finished lines (the command writes them to stderr; tests may drop them).
    public init(interval: Double = 2, sink: @escaping (String) -> Void) {
        self.interval = interval
        self.sink = sink
    }

    public static func stderr() -> DemoProgress {
        DemoProgress { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    }

    static var now: Double { monotonicSeconds() }

    public func start(_ stage: String, total: Int, unit: String) {
        self.stage = stage
        self.total = max(total, 1)
        self.unit = unit
        done = 0
        note = ""
        started = Self.now
        lastPrint = started
        sink("[\(stage)] \(total) \(unit)")
    }

    public func update(_ done: Int, note: String? = nil) {
        self.done = done
        if let note { self.note = note }
        let t = Self.now
        if t - lastPrint >= interval {
            lastPrint = t
            sink(line(elapsed: t - started))
        }
    }

    public func finish(_ summary: String? = nil) {
        let elapsed = Self.now - started
        sink("[\(stage)] done in \(Self.seconds(elapsed))" + (summary.map { ": " + $0 } ?? (note.isEmpty ? "" : ": " + note)))
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

    static func seconds(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }
}
