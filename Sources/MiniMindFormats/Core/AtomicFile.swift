import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sequential writer to a temporary file that replaces the destination only when complete, so a
/// crash or full disk never leaves a half-written checkpoint under the real name. A process killed
/// mid-write leaves its `.<name>.tmp-<pid>-<random>` file behind; the next writer of the same name
/// removes those whose process is gone.
final class AtomicFileWriter {
    let destination: URL
    private let tempPath: String
    private var fd: Int32
    private(set) var position = 0

    init(_ url: URL) throws {
        destination = url
        let dir = url.deletingLastPathComponent().path
        Self.removeOrphans(of: url.lastPathComponent, in: dir)
        tempPath = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw CheckpointError.io(path: url.path, reason: "cannot create temporary file in \(dir): \(String(cString: strerror(errno)))")
        }
    }

    /// The process id in a temporary name `.<name>.tmp-<pid>-<random>`, or nil for other names.
    static func writerPID(_ file: String, target name: String) -> pid_t? {
        let prefix = "." + name + ".tmp-"
        guard file.hasPrefix(prefix) else { return nil }
        let rest = file.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard rest.count == 2, UInt32(rest[1]) != nil, let pid = pid_t(rest[0]), pid > 0 else { return nil }
        return pid
    }

    /// Deletes temporary files of `name` left by writers that no longer run (not this process:
    /// another of its writers may be busy; and not a live process, which may be mid-write).
    static func removeOrphans(of name: String, in dir: String) {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for file in files {
            guard let pid = writerPID(file, target: name), pid != getpid() else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH { unlink(dir + "/" + file) }
        }
    }

    deinit {
        // Not committed: drop the partial file.
        if fd >= 0 { close(fd); unlink(tempPath) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = posixWrite(fd, p, min(left, 1 << 30))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw CheckpointError.io(path: destination.path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            p += n; left -= n; position += n
        }
    }

    func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func writeZeros(_ count: Int) throws { if count > 0 { try write([UInt8](repeating: 0, count: count)) } }

    /// Flushes to disk and renames over the destination.
    func commit() throws {
        guard fsync(fd) == 0 else { throw CheckpointError.io(path: destination.path, reason: "fsync failed: \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        guard rename(tempPath, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tempPath)
            throw CheckpointError.io(path: destination.path, reason: "cannot rename temporary file into place: \(reason)")
        }
    }
}

#if canImport(Glibc)
private let posixWrite = Glibc.write
#else
private let posixWrite = Darwin.write
#endif
