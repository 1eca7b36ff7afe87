import ArgumentParser
import MiniMindV

@main
struct MiniMindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minimind-v",
        abstract: "Train, run and study tiny vision-language models (MiniMind-V) in Swift.",
        subcommands: [ForwardCommand.self, ChatCommand.self, CaptionCommand.self, InspectCommand.self, ConvertCommand.self, TokenizeCommand.self, BenchCommand.self, DemoCommand.self, ServeCommand.self, PretrainCommand.self, SFTCommand.self])
}
