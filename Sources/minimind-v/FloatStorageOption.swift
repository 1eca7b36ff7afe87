// `--dtype f32|f16|bf16`: how a written model folder stores its float tensors. One parser for every
// command that writes weights (convert, compress lowrank, merge-lora); ArgumentParser refuses any other
// value with the flag, the value and the allowed ones named.
import ArgumentParser
import MiniMindV

enum FloatStorage: String, CaseIterable, ExpressibleByArgument {
    case f32, f16, bf16

    var dtype: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        }
    }
}

/// `convert --scale-dtype f32|f16`: the storage of quantisation scales.
enum ScaleStorage: String, CaseIterable, ExpressibleByArgument {
    case f32, f16

    var dtype: DType { self == .f16 ? .f16 : .f32 }
}

extension WeightQuantization.Scheme: ExpressibleByArgument {}
