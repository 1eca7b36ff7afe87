import Foundation

/// A checkpoint tensor whose shape differs from the module's.
public struct StateDictShapeMismatch: Equatable, Sendable, CustomStringConvertible {
    public let key: String
    public let expected: [Int]
    public let found: [Int]
    public var description: String { "\(key): model has \(expected), checkpoint has \(found)" }
}

/// Why `loadStateDict` refused a checkpoint: every missing, unexpected and mis-shaped key at once.
public enum StateDictError: Error, CustomStringConvertible, Equatable {
    case keysDoNotMatch(missing: [String], unexpected: [String], mismatched: [StateDictShapeMismatch])

    public var missing: [String] { if case .keysDoNotMatch(let m, _, _) = self { return m }; return [] }
    public var unexpected: [String] { if case .keysDoNotMatch(_, let u, _) = self { return u }; return [] }
    public var mismatched: [StateDictShapeMismatch] { if case .keysDoNotMatch(_, _, let s) = self { return s }; return [] }

    public var description: String {
        var lines = ["state dict does not fit the model (nothing was loaded):"]
        func section(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            lines.append("  \(items.count) \(title):")
            let shown = 20
            lines += items.prefix(shown).map { "    \($0)" }
            if items.count > shown { lines.append("    … and \(items.count - shown) more") }
        }
        section("missing key\(missing.count == 1 ? "" : "s") (in the model, not in the checkpoint)", missing)
        section("unexpected key\(unexpected.count == 1 ? "" : "s") (in the checkpoint, not in the model)", unexpected)
        section("shape mismatch\(mismatched.count == 1 ? "" : "es")", mismatched.map(\.description))
        return lines.joined(separator: "\n")
    }
}

/// A checkpoint value that writes itself into a module's tensor when the load copies it: a Tensor,
/// or a file's tensor converted straight into the parameter (no intermediate float32 copy).
public struct TensorSource {
    public let shape: [Int]
    /// Writes `shape`'s element count of float32 values to the destination.
    public let fill: (UnsafeMutablePointer<Float>) -> Void

    public init(shape: [Int], fill: @escaping (UnsafeMutablePointer<Float>) -> Void) {
        self.shape = shape
        self.fill = fill
    }

    /// An existing tensor (copied unless the destination is the tensor itself, e.g. a tied weight).
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape) { dst in
            if dst != tensor.mutablePointer { dst.update(from: tensor.pointer, count: tensor.count) }
        }
    }
}

/// What a non-strict load skipped.
public struct StateDictLoadReport: Equatable, Sendable {
    public let missing: [String]
    public let unexpected: [String]
}

extension Module {
    /// Parameters and persistent buffers with their checkpoint keys, in registration order
    /// (PyTorch `state_dict()` order; tied tensors appear under every key). The tensors are the
    /// module's own (no copy).
    public func stateDict() -> [(String, Tensor)] { stateEntries() }

    /// Copies checkpoint values into the module's existing tensors (their identity is kept, so
    /// optimizers and tied weights stay connected). Shapes must match exactly. Strict (default):
    /// any missing or unexpected key is an error; non-strict: they are skipped and reported.
    /// Either way, mis-shaped keys are an error, all problems are reported together, and nothing is
    /// copied unless the whole load succeeds.
    @discardableResult
    public func loadStateDict(_ tensors: [String: Tensor], strict: Bool = true) throws -> StateDictLoadReport {
        try loadStateDict(sources: tensors.mapValues(TensorSource.init), strict: strict)
    }

    /// `loadStateDict` from sources that convert on demand: each value is written into its
    /// parameter in turn, so a file's tensors never all exist as float32 copies at once.
    @discardableResult
    public func loadStateDict(sources tensors: [String: TensorSource], strict: Bool = true) throws -> StateDictLoadReport {
        let entries = stateEntries()
        let known = Set(entries.map(\.0))
        var missing: [String] = [], mismatched: [StateDictShapeMismatch] = []
        var copies: [(Tensor, TensorSource)] = []
        for (key, target) in entries {
            guard let source = tensors[key] else { missing.append(key); continue }
            if source.shape != target.shape {
                mismatched.append(StateDictShapeMismatch(key: key, expected: target.shape, found: source.shape))
            } else {
                copies.append((target, source))
            }
        }
        let unexpected = tensors.keys.filter { !known.contains($0) }.sorted()
        if !mismatched.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw StateDictError.keysDoNotMatch(missing: missing, unexpected: unexpected, mismatched: mismatched)
        }
        for (target, source) in copies { source.fill(target.mutablePointer) }
        return StateDictLoadReport(missing: missing, unexpected: unexpected)
    }
}
