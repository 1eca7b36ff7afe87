import Foundation
import XCTest
@testable import MiniMindFormats

/// AtomicFileWriter: the destination appears only complete, and temporary files left by killed
/// writers are removed by the next writer of the same name.
final class AtomicFileTests: XCTestCase {
    func makeFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmv-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testUncommittedWriteLeavesTheOldFileAndNoTemporary() throws {
        let dir = try makeFolder()
        let target = dir.appendingPathComponent("w.bin")
        try Data([1, 2, 3]).write(to: target)
        do {
            let out = try AtomicFileWriter(target)
            try out.write([9, 9, 9, 9])
        }   // dropped without commit, as when an error is thrown mid-save
        XCTAssertEqual(try Data(contentsOf: target), Data([1, 2, 3]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.bin"])
        let out = try AtomicFileWriter(target)
        try out.write([7])
        try out.commit()
        XCTAssertEqual(try Data(contentsOf: target), Data([7]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.bin"])
    }

    func testOrphansOfDeadWritersAreRemovedOnTheNextWrite() throws {
        let dir = try makeFolder()
        // A process that has exited: its pid is free (until reused, which a test this short won't see).
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let names = [
            ".w.bin.tmp-\(dead)-12345",               // dead writer: removed
            ".w.bin.tmp-1-777",                       // pid 1 is alive: kept (it may be mid-write)
            ".w.bin.tmp-\(getpid())-42",              // this process: kept (another writer may be busy)
            ".other.bin.tmp-\(dead)-12345",           // another target: not this writer's business
            ".w.bin.tmp-\(dead)-notanumber",          // not a name AtomicFileWriter makes: kept
            "w.bin.tmp-\(dead)-1",                    // no leading dot: kept
        ]
        for name in names { try Data([0]).write(to: dir.appendingPathComponent(name)) }
        let out = try AtomicFileWriter(dir.appendingPathComponent("w.bin"))
        try out.write([1])
        try out.commit()
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(left, Set(names.dropFirst() + ["w.bin"]))
    }

    func testWriterPIDParsing() {
        XCTAssertEqual(AtomicFileWriter.writerPID(".a.tmp-123-456", target: "a"), 123)
        XCTAssertNil(AtomicFileWriter.writerPID(".a.tmp-123-456", target: "b"))
        XCTAssertNil(AtomicFileWriter.writerPID(".a.tmp--5-456", target: "a"))
        XCTAssertNil(AtomicFileWriter.writerPID(".a.tmp-0-456", target: "a"))
        XCTAssertNil(AtomicFileWriter.writerPID(".a.tmp-99999999999-456", target: "a"))
        XCTAssertNil(AtomicFileWriter.writerPID(".a.tmp-12-", target: "a"))
    }
}
