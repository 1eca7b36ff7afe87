import Foundation

/// Errors from module configuration (freeze patterns), with messages a person can act on.
public enum ModuleError: Error, CustomStringConvertible, Equatable {
    case invalidPattern(String, reason: String)
    /// These patterns matched no parameter key (usually a typo); nothing was changed.
    case patternsMatchedNothing([String], exampleKeys: [String])

    public var description: String {
        switch self {
        case .invalidPattern(let pattern, let reason):
            return "invalid key pattern '\(pattern)': \(reason)"
        case .patternsMatchedNothing(let patterns, let examples):
            let list = patterns.map { "'\($0)'" }.joined(separator: ", ")
            let hint = examples.isEmpty ? "the module has no parameters"
                : "parameter keys look like: " + examples.joined(separator: ", ")
            return "key pattern\(patterns.count == 1 ? "" : "s") \(list) matched no parameter; nothing was changed (\(hint))"
        }
    }
}
