import Foundation
import MiniMindV
import MiniMindVDemo

/// The quick demo (≈ 30 s), trained once per test run and shared by every test that needs a
/// trained model folder; its output folder is removed when the process exits.
enum QuickDemoRun {
    nonisolated(unsafe) private static var run: Result<DemoResult, Error>?
    nonisolated(unsafe) private static var folder: String?
    private static let lock = NSLock()

    static func shared() throws -> DemoResult {
        lock.lock()
        defer { lock.unlock() }
        if let run { return try run.get() }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("quick-demo-\(UUID().uuidString)")
        folder = out.path
        atexit {
            if let folder = QuickDemoRun.folder { try? FileManager.default.removeItem(atPath: folder) }
        }
        let result = Result { try DemoPipeline.run(settings: .quick(seed: 42), output: out) }
        run = result
        return try result.get()
    }
}
