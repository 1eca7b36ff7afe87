import ArgumentParser
import Foundation
import MiniMindV

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors (dtype, shape), its parameter count and the preset it matches.")

    @Argument(help: "A .pth/.bin, .safetensors, sharded index, or a model folder.")
    var path: String

    @Flag(help: "Print only the summary, not every tensor.")
    var summary = false

    func run() throws {
        let state = try Weights.read(URL(fileURLWithPath: path))
        if !summary {
            // Names come from the file: control characters are printed escaped, never raw.
            let names = state.entries.map { TerminalText.escaped($0.name) }
            let width = names.map(\.count).max() ?? 0
            for (name, (_, t)) in zip(names, state.entries) {
                print(name.padding(toLength: width, withPad: " ", startingAt: 0), t.dtype.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0),
                      t.shape)
            }
            print("")
        }
        let dtypes = Dictionary(grouping: state.entries, by: { $0.tensor.dtype.rawValue }).mapValues(\.count)
        print("tensors: \(state.count) (\(dtypes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))")
        print("parameters: \(state.parameterCount) (\(fixed(Double(state.parameterCount) / 1e6, 2))M, tied tensors counted per key)")
        let shapes = Weights.shapes(state)
        if let preset = ConfigInference.matchingPreset(for: shapes) {
            print("preset: \(preset.rawValue)")
        } else if let lm = try? ConfigInference.language(from: shapes) {
            print("preset: none matches; inferred decoder: hidden \(lm.hiddenSize), \(lm.numHiddenLayers) layers, heads \(lm.numAttentionHeads)/\(lm.numKeyValueHeads), ffn \(lm.intermediateSize)\(lm.moe != nil ? ", MoE" : "")\(lm.qkNorm ? ", QK-norm" : "")")
        } else {
            print("preset: none (not a MiniMind language model)")
        }
        if let projector = ConfigInference.projector(from: shapes) {
            print("projector: \(projector.kind.rawValue) from \(projector.visionDim)-wide vision features")
        }
    }
}
