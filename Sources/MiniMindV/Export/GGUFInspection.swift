import Foundation

/// What `minimind-v inspect FILE.gguf` prints: the container, every metadata key with its type and
/// value (long arrays shortened), every tensor with its ggml type and shape, and what `GGUFImport`
/// would make of the file — the decoder it builds, or why it refuses. Text from the file is escaped,
/// so a hostile name cannot drive the terminal.
public enum GGUFInspection {
    /// A file that starts with GGUF's magic (decided by content, like `Checkpoint.format(of:)`).
    public static func isGGUF(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("GGUF".utf8)
    }

    public static func lines(_ file: GGUFFile, tensors listTensors: Bool = true) -> [String] {
        var lines = ["GGUF v\(file.version): \(file.metadata.count) metadata keys, \(file.tensors.count) tensors, alignment \(file.alignment)"]
        lines.append("")
        let width = file.metadata.map(\.key.count).max() ?? 0
        for (key, value) in file.metadata {
            lines.append(TerminalText.escaped(key).padding(toLength: width, withPad: " ", startingAt: 0) + "  " + describe(value))
        }
        if listTensors {
            lines.append("")
            let names = file.tensors.map { TerminalText.escaped($0.name) }
            let nameWidth = names.map(\.count).max() ?? 0
            for (name, t) in zip(names, file.tensors) {
                lines.append(name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                             + t.type.name.padding(toLength: 5, withPad: " ", startingAt: 0) + "  \(t.shape)")
            }
        }
        lines.append("")
        let types = Dictionary(grouping: file.tensors, by: \.type.name).mapValues(\.count)
        let elements = file.tensors.reduce(0) { $0 + $1.elementCount }
        lines.append("tensors: \(file.tensors.count) (\(types.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))), "
                     + "\(elements) values, \(file.tensors.reduce(0) { $0 + $1.byteCount }) bytes; shapes are row-major (ggml lists them reversed)")
        lines += importerLines(file)
        return lines
    }

    /// The importer's view: the configuration it reads and whether every tensor it needs is there.
    static func importerLines(_ file: GGUFFile) -> [String] {
        let config: LanguageModelConfig
        do { config = try GGUFImport.config(file) } catch {
            return ["minimind-v import: refused — \(error)"]
        }
        let needed = GGUFImport.tensorNames(config)
        let missing = needed.filter { file.tensor($0) == nil }
        let unused = file.tensors.map(\.name).filter { !needed.contains($0) }
        var lines = ["minimind-v import: \(GGUFExport.architecture(of: config)) decoder " + ModelInspection.describe(config)
                     + ", context \(config.maxPositionEmbeddings), LM head \(config.tieWordEmbeddings ? "tied to token_embd" : "output.weight")"]
        if !missing.isEmpty { lines.append("minimind-v import: refused — missing tensors \(missing.map(TerminalText.escaped).joined(separator: ", "))") }
        if !unused.isEmpty { lines.append("minimind-v import: not used: \(unused.map(TerminalText.escaped).joined(separator: ", "))") }
        if missing.isEmpty { lines.append("minimind-v import: loads (quantised tensors dequantised to float32)") }
        return lines
    }

    /// `type value`; arrays as `[type × n]` with their first elements.
    static func describe(_ value: GGUFValue) -> String {
        switch value {
        case .array(let element, let items):
            let shown = items.prefix(4).map(scalar).joined(separator: ", ")
            return "[\(element)] × \(items.count): \(shown)\(items.count > 4 ? ", …" : "")"
        default:
            return "\(value.type)  \(scalar(value))"
        }
    }

    static func scalar(_ value: GGUFValue) -> String {
        if let s = value.stringValue {
            let cut = s.count > 80 ? String(s.prefix(80)) + "… (\(s.count) characters)" : s
            return "\"" + TerminalText.escaped(cut) + "\""
        }
        if let b = value.boolValue { return "\(b)" }
        if let i = value.intValue { return "\(i)" }
        if let d = value.doubleValue { return "\(d)" }
        return "\(value.type)"
    }
}
