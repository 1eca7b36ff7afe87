import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Positional reads from an open file (pread), so the file is never loaded whole and several
/// cursors can read different column chunks without sharing a seek position. Bytes already in
/// memory (a download, a test) are served the same way.
final class ParquetFileSource: @unchecked Sendable {  // immutable after init; pread is thread-safe
    let path: String
    let size: Int
    private let descriptor: Int32
    private let memory: [UInt8]?

    init(bytes: [UInt8], name: String) {
        path = name
        size = bytes.count
        descriptor = -1
        memory = bytes
    }

    init(url: URL) throws {
        memory = nil
        path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ParquetError.io(path: path, message: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ParquetError.io(path: path, message: message)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw ParquetError.io(path: path, message: "not a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Reads exactly `count` bytes at `offset`; the range must lie inside the file.
    func read(offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw ParquetError.corrupt(path: path, context: "reading bytes \(offset)..<\(offset &+ count)",
                                       message: "the range lies outside the file of \(size) bytes")
        }
        if let memory { return Array(memory[offset..<(offset + count)]) }
        // Uninitialised capacity: every byte is written by pread before the array is used.
        return try [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            var done = 0
            while done < count {
                guard let base = out.baseAddress else { break }
                let got = pread(descriptor, base + done, count - done, off_t(offset + done))
                if got < 0 {
                    if errno == EINTR { continue }
                    throw ParquetError.io(path: path, message: String(cString: strerror(errno)))
                }
                if got == 0 {
                    throw ParquetError.io(path: path, message: "the file ended at byte \(offset + done); was it truncated while reading?")
                }
                done += got
            }
            initialized = count
        }
    }
}
