// `minimind-v chat`: an interactive conversation that streams its answers. Reads stdin line by line
// (a terminal or a pipe); `/image PATH` attaches an image to the next question, `/reset` starts over,
// `/quit` leaves. Bad input (missing or non-image file, over-long prompt) is reported and the chat goes on.
import ArgumentParser
import Foundation
import MiniMindV

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a MiniMind-V model about images; answers stream as they are generated.",
        discussion: """
            Type a question and press return. Commands:
              /image PATH   attach an image to the next question (repeatable); write <image> in the
                            question to place it, otherwise it goes before the text
              /reset        forget the conversation (cached image features are kept)
              /quit         leave (end of input works too)
            Follow-up questions reuse the KV cache, so only their new tokens are processed. When the
            conversation outgrows --context (or the model's context, if smaller), an answer gets the
            tokens that are left (up to --max-new-tokens); only when fewer than --max-new-tokens or a
            quarter of the context (the smaller) would be left are the oldest exchanges dropped, and
            their images stay attached to the conversation. A note on stderr says when an answer had
            to be given without its image.
            """)

    @OptionGroup var modelOptions: ModelLoadingOptions
    @OptionGroup var sampling: SamplingFlags

    @Option(name: .long, help: "Context length in tokens (KV cache size), 2 up to the model's max_position_embeddings (default: 2048, or the model's length when shorter).")
    var context: Int?

    @Option(name: .long, help: "System prompt (default: the model folder's generation_config.json, else the chat template's).")
    var system: String?

    @Flag(name: .long, help: "Print timings and tokens/s after each answer (stderr).")
    var stats = false

    @Option(name: .long, help: "An image for the first question (same as /image).")
    var image: [String] = []

    func run() throws {
        let bundle = try modelOptions.loadForGeneration(sampling)
        let positions = bundle.model.config.language.maxPositionEmbeddings
        let context = self.context ?? min(2048, positions)
        try InputRange.check("--context", context, in: 2...positions, note: "the model has \(positions) positions")
        let session = ChatSession(generator: Generator(bundle: bundle), options: sampling.options(for: bundle),
                                  contextLength: context, system: system ?? bundle.generation?.systemPrompt)
        let interactive = isatty(0) != 0
        var pending: [PromptImage] = []
        var asked = 0, failed = 0
        for path in image { attach(path, to: &pending) }
        if interactive {
            printError("MiniMind-V chat (\(bundle.model.config.language.hiddenSize)-wide, \(bundle.model.config.language.numHiddenLayers) layers). /image PATH, /reset, /quit.")
            if let examples = bundle.generation?.exampleQuestions, !examples.isEmpty {
                printError("It was trained on questions like: " + examples.joined(separator: " / "))
            }
        }
        while true {
            if interactive { print(pending.isEmpty ? "> " : "[\(pending.count) image(s)] > ", terminator: ""); fflush(stdout) }
            guard let line = readLine(strippingNewline: true) else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/quit" || text == "/exit" { break }
            if text == "/reset" {
                session.reset()
                pending.removeAll()
                printError("(conversation cleared)")
                continue
            }
            if text.hasPrefix("/image") {
                let path = text.dropFirst("/image".count).trimmingCharacters(in: .whitespaces)
                if path.isEmpty { printError("usage: /image PATH") } else { attach(path, to: &pending) }
                continue
            }
            if text.hasPrefix("/") {
                printError("unknown command \(text.split(separator: " ")[0]); commands: /image PATH, /reset, /quit")
                continue
            }
            asked += 1
            do {
                let result = try session.ask(text, images: pending) { _, piece in
                    print(piece, terminator: "")
                    fflush(stdout)
                    return true
                }
                print("")
                fflush(stdout)
                pending.removeAll()
                if result.finishReason == .contextFull { printError("(the context is full: the answer was cut; /reset to start over)") }
                if session.lastDroppedTurns > 0 {
                    let kept = session.lastReattachedImages > 0 ? "; their image(s) stay attached" : ""
                    printError("(dropped the \(session.lastDroppedTurns) oldest exchange(s) to fit the context of \(session.contextLength) tokens\(kept))")
                }
                if session.lastImagesLeftOut > 0 {
                    printError("(warning: this answer was given WITHOUT the conversation's \(session.lastImagesLeftOut) earlier image(s): they no longer fit the context of \(session.contextLength) tokens; /reset and /image PATH to ask about an image again)")
                }
                if stats { printError("[\(result.stats.summary); seed \(result.stats.seed); \(result.finishReason.rawValue)]") }
            } catch {
                failed += 1
                printError("error: \(FlagAdvice(underlying: error))")
                if !pending.isEmpty { printError("(the attached image(s) are kept for the next question; /reset clears them)") }
            }
        }
        // A scripted chat whose every question failed did nothing: say so in the exit status.
        if asked > 0 && failed == asked { throw ExitCode.failure }
    }

    private func attach(_ path: String, to pending: inout [PromptImage]) {
        do {
            let image = try RGBImage(contentsOf: URL(fileURLWithPath: (path as NSString).expandingTildeInPath))
            pending.append(.image(image))
            printError("(attached \(path): \(image.width)×\(image.height))")
        } catch {
            printError("error: \(error)")
        }
    }
}
