/// Named tensors in file order (what `model.state_dict()` is in PyTorch), plus string metadata
/// (safetensors `__metadata__`). Names are unique; assigning an existing name replaces it in place.
public struct StateDict: Sendable {
    public private(set) var entries: [(name: String, tensor: TensorData)] = []
    private var index: [String: Int] = [:]
    public var metadata: [String: String] = [:]

    public init() {}

    public init(_ entries: [(String, TensorData)], metadata: [String: String] = [:]) {
        for (k, v) in entries { self[k] = v }
        self.metadata = metadata
    }

    public var keys: [String] { entries.map(\.name) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public subscript(name: String) -> TensorData? {
        get { index[name].map { entries[$0].tensor } }
        set {
            if let i = index[name] {
                if let v = newValue {
                    entries[i].tensor = v
                } else {
                    entries.remove(at: i)
                    index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
                }
            } else if let v = newValue {
                index[name] = entries.count
                entries.append((name, v))
            }
        }
    }

    /// The tensor under `name` or an error naming it.
    public func require(_ name: String) throws -> TensorData {
        guard let t = self[name] else { throw CheckpointError.notFound(path: "state dict", what: "tensor '\(name)'") }
        return t
    }

    /// Total element count (the parameter count when the dict holds a model's weights).
    public var parameterCount: Int { entries.reduce(0) { $0 + $1.tensor.elementCount } }
}
