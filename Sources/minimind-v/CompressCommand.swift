// `minimind-v compress`: make a model folder smaller (Docs/Compression.md). One subcommand a line.
import ArgumentParser

struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Write a smaller model folder from a model folder.",
        subcommands: [
            CompressPruneCommand.self,
        ])
}
