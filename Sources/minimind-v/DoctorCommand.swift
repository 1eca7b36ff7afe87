import ArgumentParser
import Foundation
import MiniMindV

/// Says which kernels this machine runs: a benchmark number means little without it.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Print the CPU, its features, the BLAS library, its kernel core, the decode kernel and the thread count.",
        discussion: """
            The kernel core is chosen by the CPU's features at first use: MINIMIND_BLAS_CORE=NAME forces an \
            OpenBLAS core (keep: OpenBLAS's own pick); an OPENBLAS_CORETYPE weaker than the features allow is \
            replaced (see Docs/Performance.md, "Kernel selection").
            """)

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let r = ComputeReport.current
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
            return
        }
        let env = ProcessInfo.processInfo.environment
        print("CPU:            \(r.cpuModel)")
        print("CPU features:   \(r.cpuFeatures.isEmpty ? "(none of those the kernels use)" : r.cpuFeatures.joined(separator: " "))")
        print("BLAS:           \(r.blasLibrary)")
        print("BLAS version:   \(r.blasVersion ?? "unknown")")
        print("kernel core:    \(r.kernelCore ?? "n/a") (\(r.kernelCoreSource))")
        if let d = r.kernelCoreDetected, d != r.kernelCore { print("OpenBLAS chose: \(d)") }
        print("decode kernel:  \(r.decodeKernel ?? "n/a") (float32 and packed bf16/int8/int4 decode weights"
              + (r.decodeRowsPerPassText.map { "; f32 and bf16 \($0)" } ?? "") + ")")
        print("threads:        \(r.threads) (MINIMIND_THREADS or all cores; OpenBLAS itself single-threaded)")
        for name in ["MINIMIND_BLAS_CORE", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MINIMIND_THREADS", "MINIMIND_DECODE_ROWS"] {
            if let v = env[name] { print("environment:    \(name)=\(v)") }
        }
    }
}
