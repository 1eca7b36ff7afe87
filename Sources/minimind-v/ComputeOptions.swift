import ArgumentParser
import Foundation
import MiniMindV

extension ComputePrecision: ExpressibleByArgument {}

/// `--compute f32|bf16`, shared by the commands that run large matrix products.
struct ComputeOptions: ParsableArguments {
    @Option(name: .long, help: "Precision of the large matrix products (prefill, image encoding, training): f32 (default, exact parity) or bf16 (bfloat16 inputs, float32 accumulation on AMX/AVX512-BF16; error in Docs/Parity.md).")
    var compute: ComputePrecision = .f32

    /// Sets `Compute.precision`; says so on stderr when bf16 cannot run here (float32 runs instead).
    func apply() {
        Compute.precision = compute
        if compute == .bf16 && !Compute.bf16Available {
            FileHandle.standardError.write(Data("note: --compute bf16 runs as f32 here: \(Compute.bf16Unavailability)\n".utf8))
        }
    }
}
