import ArgumentParser
import Foundation
import MiniMindV

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's tensors (dtype, shape), its parameter count and its configuration.",
        discussion: """
            For a model folder the configuration is its config.json, checked against the weights' shapes
            (a disagreement is reported). For a weights file: the preset its shapes match, else the
            decoder inferred from them (the head count is then an assumption). For a GGUF file: its
            metadata, tensors (ggml type, shape) and what minimind-v's importer makes of it.
            """)

    @Argument(help: "A .pth/.bin, .safetensors, sharded index, .gguf, or a model folder.")
    var path: String

    @Flag(help: "Print only the summary, not every tensor.")
    var summary = false

    func run() throws {
        if GGUFInspection.isGGUF(URL(fileURLWithPath: path)) {
            for line in GGUFInspection.lines(try GGUFFile.read(URL(fileURLWithPath: path)), tensors: !summary) { print(line) }
            return
        }
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
        print("parameters: \(state.parameterCount) (\(String(format: "%.2f", Double(state.parameterCount) / 1e6))M, tied tensors counted per key)")
        for line in ModelInspection.configurationLines(path: URL(fileURLWithPath: path), shapes: Weights.shapes(state)) {
            print(line)
        }
    }
}
