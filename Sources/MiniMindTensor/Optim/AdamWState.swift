import Foundation

/// Why optimizer state could not be restored. Every problem found is reported at once.
public enum OptimizerStateError: Error, CustomStringConvertible, Equatable {
    case invalid(problems: [String])

    public var description: String {
        switch self {
        case .invalid(let problems):
            return "AdamW state does not fit this optimizer (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}

extension AdamW {
    /// Key suffixes of the exported state, named like PyTorch's per-parameter state entries.
    public enum StateKey {
        public static let expAvg = "exp_avg"
        public static let expAvgSq = "exp_avg_sq"
        public static let step = "step"
    }

    /// The optimizer state as named tensors, for checkpoints: for every parameter that has been
    /// updated, `<name>.exp_avg`, `<name>.exp_avg_sq` (parameter shape) and `<name>.step`
    /// (a 0-d Float tensor, as PyTorch stores it). Parameters never updated have no entries.
    /// The tensors are copies: later steps do not change them. Under `shard(_:)` the moments hold
    /// this rank's range and zeros elsewhere (the ranks' all-gather fills in the rest).
    public func stateTensors() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (index, (name, state)) in zip(parameterNames, states).enumerated() {
            guard let state else { continue }
            out.append(("\(name).\(StateKey.expAvg)", fullShape(state.expAvg, index)))
            out.append(("\(name).\(StateKey.expAvgSq)", fullShape(state.expAvgSq, index)))
            out.append(("\(name).\(StateKey.step)", Tensor(scalar: Float(state.step))))
        }
        return out
    }

    /// A copy of a moment in its parameter's shape (a shard's range placed at its offset).
    private func fullShape(_ moment: Tensor, _ index: Int) -> Tensor {
        guard let range = ownedRanges?[index] else { return moment.copy() }
        let out = Tensor.zeros(parameters[index].shape)
        if !range.isEmpty { (out.mutablePointer + range.lowerBound).update(from: moment.pointer, count: range.count) }
        return out
    }

    /// Restores state exported by `stateTensors()` (values are copied; under `shard(_:)` only the
    /// owned ranges are kept, from moments in the parameters' full shapes). Parameters without entries
    /// start fresh. Throws, changing nothing, when a key names no parameter of this optimizer, a
    /// parameter has only some of its three entries, a shape differs, or a step is not a whole
    /// number ≥ 1.
    public func loadState(_ tensors: [String: Tensor]) throws {
        var problems: [String] = []
        var restored: [Int: ParameterState] = [:]
        var claimed = Set<String>()
        for (index, name) in parameterNames.enumerated() {
            let keys = [StateKey.expAvg, StateKey.expAvgSq, StateKey.step].map { "\(name).\($0)" }
            let found = keys.map { tensors[$0] }
            claimed.formUnion(keys.filter { tensors[$0] != nil })
            let present = found.compactMap { $0 }.count
            if present == 0 { continue }
            guard let m = found[0], let v = found[1], let s = found[2] else {
                let missing = zip(keys, found).filter { $0.1 == nil }.map { $0.0 }
                problems.append("parameter '\(name)': missing \(missing.joined(separator: ", "))")
                continue
            }
            let shape = parameters[index].shape
            for (key, t) in [(keys[0], m), (keys[1], v)] where t.shape != shape {
                problems.append("\(key): expected shape \(shape), found \(t.shape)")
            }
            var step = 0
            if s.count != 1 {
                problems.append("\(keys[2]): expected one value, found shape \(s.shape)")
            } else if let whole = Int(exactly: s.pointer[0]), whole >= 1 {
                step = whole
            } else {
                problems.append("\(keys[2]): expected a whole number >= 1, found \(s.pointer[0])")
            }
            if m.shape == shape, v.shape == shape, step >= 1 {
                // Sharded: the owned range of the full-shape moments.
                let keep = { (t: Tensor) in self.ownedRanges.map { Self.slice(t, $0[index]) } ?? t.copy() }
                restored[index] = ParameterState(step: step, expAvg: keep(m), expAvgSq: keep(v))
            }
        }
        let unknown = tensors.keys.filter { !claimed.contains($0) }.sorted()
        if !unknown.isEmpty {
            problems.append("unexpected keys (no such parameter in this optimizer): \(unknown.joined(separator: ", "))")
        }
        guard problems.isEmpty else { throw OptimizerStateError.invalid(problems: problems) }
        for index in states.indices { states[index] = restored[index] }
    }
}
