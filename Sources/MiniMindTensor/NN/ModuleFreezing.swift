import Foundation

extension Module {
    /// Makes every parameter whose key matches one of `patterns` (see `KeyPattern`) non-trainable
    /// and drops its gradient, so an optimizer built afterwards leaves it alone. Keys include the
    /// aliases of tied tensors. Returns the affected keys (tied tensors under their first name).
    /// Throws, changing nothing, when a pattern is malformed or matches no key.
    @discardableResult
    public func freeze(matching patterns: [String]) throws -> [String] {
        try setTrainable(false, matching: patterns)
    }

    /// The inverse of `freeze(matching:)`: matching parameters become trainable.
    @discardableResult
    public func unfreeze(matching patterns: [String]) throws -> [String] {
        try setTrainable(true, matching: patterns)
    }

    /// Freezes every parameter of this module (e.g. `vlm.visionEncoder.freeze()`).
    public func freeze() {
        for p in parameters() { p.requiresGrad = false; p.grad = nil }
    }

    /// Makes every parameter of this module trainable.
    public func unfreeze() {
        for p in parameters() { p.requiresGrad = true }
    }

    private func setTrainable(_ trainable: Bool, matching patterns: [String]) throws -> [String] {
        let parsed = try patterns.map(KeyPattern.init)
        let keys = allNamedParameters()
        let unmatched = parsed.filter { pattern in !keys.contains { pattern.matches($0.0) } }
        if !unmatched.isEmpty {
            throw ModuleError.patternsMatchedNothing(unmatched.map(\.text), exampleKeys: keys.prefix(3).map(\.0))
        }
        var affected = Set<ObjectIdentifier>()
        for (key, tensor) in keys where parsed.contains(where: { $0.matches(key) }) {
            affected.insert(ObjectIdentifier(tensor))
            tensor.requiresGrad = trainable
            if !trainable { tensor.grad = nil }
        }
        return namedParameters().filter { affected.contains(ObjectIdentifier($0.1)) }.map(\.0)
    }
}
