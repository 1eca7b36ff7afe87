/// The allow-list: the only globals a checkpoint pickle may name. Each maps to a fixed, data-only
/// behaviour in `PickleMachine`; every other `module.name` is refused before anything happens.
enum PickleGlobal: Equatable {
    case rebuildTensorV2            // torch._utils._rebuild_tensor_v2
    case rebuildParameter           // torch._utils._rebuild_parameter
    case rebuildParameterWithState  // torch._utils._rebuild_parameter_with_state
    case orderedDict                // collections.OrderedDict
    case torchSize                  // torch.Size (a tuple of ints)
    case codecsEncode               // _codecs.encode (how protocol 2 pickles `bytes`)
    case storageType(DType)         // torch.FloatStorage, torch.HalfStorage, … torch.UntypedStorage

    init?(module: String, name: String) {
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch", "Size"): self = .torchSize
        case ("_codecs", "encode"): self = .codecsEncode
        case ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage"): self = .storageType(.u8)
        case ("torch", _):
            guard let d = DType(torchStorageName: name) else { return nil }
            self = .storageType(d)
        default:
            return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .orderedDict: return "collections.OrderedDict"
        case .torchSize: return "torch.Size"
        case .codecsEncode: return "_codecs.encode"
        case let .storageType(d): return "torch.\(d.torchStorageName)"
        }
    }

    /// Every allowed global, for documentation and error messages.
    static var allowList: [String] {
        ["torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
         "collections.OrderedDict", "torch.Size", "_codecs.encode", "torch.UntypedStorage"]
            + DType.allCases.map { "torch.\($0.torchStorageName)" }
    }
}
