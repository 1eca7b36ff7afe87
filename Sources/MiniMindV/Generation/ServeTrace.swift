import Foundation

/// A timeline of serving, for finding where time to first token goes: with `MINIMIND_SERVE_TRACE=FILE`
/// in the environment, the server (connection accepted, handler began, request queued, step taken,
/// forward start and end, first token handed out and written) and `bench serve`'s clients (request
/// sent, first token read) append one line each, `SECONDS EVENT key=value…`, on the monotonic clock
/// that both processes share. `Scripts/serve_trace.py FILE` splits each burst into its parts
/// (Docs/Serving.md, "Where time to first token goes"). Off (one nil check) without the variable.
public enum ServeTrace {
    nonisolated(unsafe) private static let file: UnsafeMutablePointer<FILE>? =
        ProcessInfo.processInfo.environment["MINIMIND_SERVE_TRACE"].flatMap { fopen($0, "a") }
    private static let lock = NSLock()

    public static var isOn: Bool { file != nil }

    /// Appends `SECONDS event` (flushed at once: the two processes append to one file).
    public static func mark(_ event: @autoclosure () -> String) {
        guard let file else { return }
        let line = String(format: "%.6f ", monotonicSeconds()) + event() + "\n"
        lock.lock()
        fputs(line, file)
        fflush(file)
        lock.unlock()
    }
}
