import Foundation

/// Prints `step 12/400 | epoch 1/2 | loss 3.2145 | lr 4.000e-04 | 1234 tok/s | ETA 3m12s` to stderr:
/// rewritten in place on a terminal, one line every `interval` steps otherwise.
public final class ProgressLineCallback: TrainingCallback {
    public let interval: Int
    let isTerminal = isatty(2) != 0
    public init(interval: Int = 1) { self.interval = max(1, interval) }

    public func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl {
        guard case .step(let r) = event else { return .proceed }
        let line = Self.format(r, epochs: trainer.epochs)
        if isTerminal { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (r.step == r.totalSteps ? "\n" : "")).utf8)) }
        else if r.step == 1 || r.step % interval == 0 || r.step == r.totalSteps { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        return .proceed
    }

    public static func format(_ r: StepReport, epochs: Int) -> String {
        let perStep = r.elapsed / Double(max(r.step, 1))
        let eta = perStep * Double(max(r.totalSteps - r.step, 0))
        return String(format: "step %d/%d | epoch %d/%d | loss %.4f | lr %.3e | %.0f tok/s | ETA %@",
                      r.step, r.totalSteps, min(r.epoch + 1, epochs), epochs, r.loss, r.lr, r.tokensPerSecond, duration(eta))
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        if t >= 3600 { return "\(t / 3600)h\(String(format: "%02d", (t % 3600) / 60))m" }
        if t >= 60 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return "\(t)s"
    }
}

/// Appends one JSON object per optimizer step to a JSONL file:
/// `{"step":1,"epoch":0,"loss":…,"lr":…,"grad_norm":…,"tokens":…,"tokens_per_s":…,"elapsed_s":…}`.
public final class MetricsLogCallback: TrainingCallback {
    public let url: URL
    private let handle: FileHandle

    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw TrainingDataError.unreadable(path: url.path, reason: "cannot create the metrics file")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    private var checkedForRepeats = false

    public func training(_ event: TrainingEvent, trainer: any Trainer) -> TrainingControl {
        guard case .step(let r) = event else { return .proceed }
        if !checkedForRepeats {
            checkedForRepeats = true
            dropLines(fromStep: r.step)
        }
        func num(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
        let line = "{\"step\":\(r.step),\"epoch\":\(r.epoch),\"loss\":\(num(r.loss)),\"lr\":\(num(r.lr)),\"grad_norm\":\(num(r.gradNorm)),"
            + "\"tokens\":\(r.tokens),\"tokens_per_s\":\(num(r.tokensPerSecond.rounded())),\"elapsed_s\":\(num(r.elapsed))}\n"
        handle.write(Data(line.utf8))
        return .proceed
    }

    /// A run resumed from its last save repeats the steps logged after that save (a run killed
    /// between saves): the log keeps one line per step by cutting it before the first repeated one.
    private func dropLines(fromStep first: Int) {
        guard let data = try? Data(contentsOf: url) else { return }
        var offset = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
               let step = object["step"] as? Int, step >= first {
                try? handle.truncate(atOffset: UInt64(offset))
                handle.seekToEndOfFile()
                return
            }
            offset += line.count + 1
        }
    }
}
