// Output files named on the command line are checked before a command does its work, so a bad
// second path never leaves the first file already overwritten.
import Foundation

enum OutputPathError: Error, CustomStringConvertible {
    case samePath(option1: String, option2: String, path: String)
    case notWritable(option: String, path: String, reason: String)

    var description: String {
        switch self {
        case let .samePath(a, b, path): return "\(a) and \(b) name the same file (\(path)); give two different paths"
        case let .notWritable(option, path, reason): return "\(option) \(path): \(reason)"
        }
    }

    /// The folder must exist and be writable, and the path must not be a folder.
    static func checkWritable(option: String, url: URL) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            throw notWritable(option: option, path: url.path, reason: "is a folder")
        }
        let folder = url.deletingLastPathComponent().path
        guard fm.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw notWritable(option: option, path: url.path, reason: "the folder \(folder) does not exist")
        }
        guard fm.isWritableFile(atPath: folder) else {
            throw notWritable(option: option, path: url.path, reason: "the folder \(folder) is not writable")
        }
    }
}
