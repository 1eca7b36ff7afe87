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
        ])

    /// Runs the chosen command; whatever it throws passes through `FlagAdvice`, which adds the flag
    /// that fixes a library error (the library's messages speak of its own fields, not of flags).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: FlagAdvice.advising(error))
        }
    }
}
