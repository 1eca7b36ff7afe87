import ArgumentParser
import MiniMindV

@main
struct MiniMindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minimind-v",
        abstract: "Train, run and study tiny vision-language models (MiniMind-V) in Swift.",
        // One subcommand a line, so that adding one is a one-line change.
        subcommands: [
            ForwardCommand.self,
            ChatCommand.self,
            CaptionCommand.self,
            ServeCommand.self,
            EvalCommand.self,
            InspectCommand.self,
            ConvertCommand.self,
            CompressCommand.self,
            TokenizeCommand.self,
            BenchCommand.self,
            DoctorCommand.self,
            DemoCommand.self,
            ScratchCommand.self,
            ScratchDataCommand.self,
            PretrainCommand.self,
            SFTCommand.self,
            MergeLoRACommand.self,
            DistillCommand.self,
            CompressCommand.self,
        ])
}
