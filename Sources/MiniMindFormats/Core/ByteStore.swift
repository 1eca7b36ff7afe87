import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only byte region that tensors slice without copying: either a heap buffer or a
/// memory-mapped file. The region lives as long as any `TensorData` refers to its owner.
public final class ByteStore: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    private let release: () -> Void
    /// True for a memory-mapped file (its pages can be dropped and re-read).
    private let isMapped: Bool

    private init(base: UnsafeRawPointer, count: Int, isMapped: Bool = false, release: @escaping () -> Void) {
        self.base = base
        self.count = count
        self.isMapped = isMapped
        self.release = release
    }

    /// Drops the whole pages inside `offset..<offset+count` of a mapped file from this process's
    /// memory (MADV_DONTNEED; a private read-only mapping re-reads them from the file if touched).
    /// Partial pages at either end stay: a neighbouring tensor may still need them.
    public func releasePages(offset: Int, count: Int) {
        guard isMapped, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + offset + page - 1) / page * page
        let end = (Int(bitPattern: base) + offset + count) / page * page
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, Int32(MADV_DONTNEED))
    }

    deinit { release() }

    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// A heap buffer of `count` bytes that `fill` writes before anyone reads it.
    public static func build(count: Int, _ fill: (UnsafeMutableRawPointer) throws -> Void) rethrows -> ByteStore {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        do { try fill(raw) } catch { raw.deallocate(); throw error }
        return ByteStore(base: UnsafeRawPointer(raw), count: count, release: { raw.deallocate() })
    }

    /// A heap copy of `data`.
    public static func copying(_ data: Data) -> ByteStore {
        build(count: data.count) { dst in
            data.withUnsafeBytes { src in
                if let s = src.baseAddress, src.count > 0 { dst.copyMemory(from: s, byteCount: src.count) }
            }
        }
    }

    /// Maps `url` read-only. Pages load lazily, so opening a multi-GB checkpoint costs nothing until
    /// tensors are read. (If another process truncates the file meanwhile, reads fault: mmap's rule.)
    public static func map(_ url: URL) throws -> ByteStore {
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CheckpointError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CheckpointError.io(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw CheckpointError.io(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        if size == 0 { return build(count: 0) { _ in } }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw CheckpointError.io(path: path, reason: "cannot memory-map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        return ByteStore(base: UnsafeRawPointer(mapped), count: size, isMapped: true, release: { munmap(mapped, size) })
    }
}

/// Bounds-checked little-endian reads over a byte region; every read throws instead of trapping.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    let format: String

    func fail(_ reason: String) -> CheckpointError { .malformed(path: path, format: format, reason: reason) }

    /// Throws unless `[offset, offset+length)` lies inside the region (overflow-safe).
    func check(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset else {
            throw fail("\(what()) at byte \(offset) with length \(length) runs past the end of the \(bytes.count)-byte file")
        }
    }

    func u8(_ offset: Int) throws -> UInt8 {
        try check(offset, 1, "byte"); return bytes[offset]
    }
    func u16(_ offset: Int) throws -> UInt16 {
        try check(offset, 2, "16-bit field"); return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    func u32(_ offset: Int) throws -> UInt32 {
        try check(offset, 4, "32-bit field"); return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    func u64(_ offset: Int) throws -> UInt64 {
        try check(offset, 8, "64-bit field"); return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    func slice(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try check(offset, length, what())
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }
}

/// Element count of a shape, or nil when a dimension is negative or the product overflows.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = p
    }
    return n
}

/// `a * b` or nil on overflow.
func checkedMul(_ a: Int, _ b: Int) -> Int? {
    let (p, o) = a.multipliedReportingOverflow(by: b); return o ? nil : p
}
