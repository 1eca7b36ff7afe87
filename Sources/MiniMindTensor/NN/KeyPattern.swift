import Foundation

/// A pattern over dotted checkpoint keys, used to freeze and unfreeze parameters.
///
/// - The pattern is split at "." into components; each must be non-empty.
/// - `*` inside a component matches any run of characters within one component (never a dot):
///   `layers.*.mlp`, `*_proj`, `layers.1*` (1, 10–19, …).
/// - A component that is exactly `**` matches zero or more whole components: `**.bias`,
///   `**.layers.7`.
/// - A pattern addresses a key and everything below it: it matches a key when it matches the
///   key's first components. So `model.layers.1` matches `model.layers.1.mlp.up_proj.weight` but
///   not `model.layers.10.mlp…`; `vision_proj` and `vision_proj.*` both match every key under
///   `vision_proj`.
public struct KeyPattern: Equatable, Sendable, CustomStringConvertible {
    public let text: String
    private let components: [String]

    public init(_ text: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !text.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw ModuleError.invalidPattern(text, reason: "empty key component (patterns look like 'model.layers.*.mlp')")
        }
        if let bad = parts.first(where: { $0.contains("**") && $0 != "**" }) {
            throw ModuleError.invalidPattern(text, reason: "'**' must be a whole component, found '\(bad)'")
        }
        self.text = text
        self.components = parts
    }

    public var description: String { text }

    /// True when the pattern matches `key` or a prefix of its components.
    public func matches(_ key: String) -> Bool {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(Substring.init)
        return match(0, parts[...])
    }

    private func match(_ index: Int, _ rest: ArraySlice<Substring>) -> Bool {
        if index == components.count { return true }
        let component = components[index]
        if component == "**" {
            if match(index + 1, rest) { return true }
            return !rest.isEmpty && match(index, rest.dropFirst())
        }
        guard let head = rest.first, KeyPattern.glob(component[...], head) else { return false }
        return match(index + 1, rest.dropFirst())
    }

    /// `*`-glob within one component.
    static func glob(_ pattern: Substring, _ text: Substring) -> Bool {
        guard let star = pattern.firstIndex(of: "*") else { return pattern == text }
        let prefix = pattern[..<star]
        guard text.hasPrefix(prefix) else { return false }
        let afterStar = pattern[pattern.index(after: star)...]
        var candidate = text[text.index(text.startIndex, offsetBy: prefix.count)...]
        while true {
            if glob(afterStar, candidate) { return true }
            guard !candidate.isEmpty else { return false }
            candidate = candidate.dropFirst()
        }
    }
}
