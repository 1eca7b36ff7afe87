import Foundation

/// Every failure while reading or writing a checkpoint file. Messages name the file, the entry and
/// what was expected versus found, so a user can tell a truncated download from a wrong format.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, mapped, created or renamed.
    case io(path: String, reason: String)
    /// The bytes do not follow the format (truncated, bad offsets, bad header, bad opcode).
    case malformed(path: String, format: String, reason: String)
    /// Valid in the format, but a feature this reader deliberately does not implement.
    case unsupported(path: String, format: String, reason: String)
    /// A pickle referenced a global outside the allow-list; it was never executed.
    case forbiddenGlobal(path: String, global: String)
    /// A value has a different type than the operation needs (e.g. int64Values() on F32 data).
    case typeMismatch(what: String, expected: String, found: String)
    /// A required file or entry is absent.
    case notFound(path: String, what: String)

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .malformed(path, format, reason):
            return "\(path): not a valid \(format) file: \(reason)"
        case let .unsupported(path, format, reason):
            return "\(path): unsupported \(format) feature: \(reason)"
        case let .forbiddenGlobal(path, global):
            return "\(path): the pickle references '\(global)', which is not in the allow-list of torch "
                + "checkpoint globals; it was not executed. Re-save the checkpoint as a plain state dict "
                + "(torch.save(model.state_dict(), path)) or as safetensors."
        case let .typeMismatch(what, expected, found):
            return "\(what): expected \(expected), found \(found)"
        case let .notFound(path, what):
            return "\(path): \(what) not found"
        }
    }
}
