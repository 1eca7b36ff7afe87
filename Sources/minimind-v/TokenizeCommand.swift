// `minimind-v tokenize`: text lines -> JSON id arrays, or (--decode) id arrays -> text, via stdin/stdout.
import ArgumentParser
import Foundation
import MiniMindV

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode stdin lines to JSON arrays of token ids, or decode id arrays back to text.",
        discussion: """
            Encoding: each input line (without its line break) becomes one line like [1,2,3]. Added tokens
            such as <|im_start|> written in the text are matched, as Hugging Face does; no BOS/EOS is added.
            Decoding (--decode): each line must be a JSON array of integer ids; special tokens are dropped
            unless --with-special is given. Decoded text may itself contain line breaks.
            A bad line (not a JSON array of integers, or an id outside the vocabulary) is reported on stderr
            with its line number and gives an empty output line, so output line N still answers input
            line N; processing continues and the exit status is 1 if any line was bad.
            """)

    @Option(name: .long, help: "Tokenizer folder (tokenizer.json + tokenizer_config.json) or a tokenizer.json file.")
    var tokenizer: String

    @Flag(name: .long, help: "Decode JSON id arrays to text instead of encoding text.")
    var decode = false

    @Flag(name: .customLong("with-special"), help: "When decoding, keep special tokens such as <|im_end|>.")
    var withSpecial = false

    func run() throws {
        let tok: Tokenizer
        do {
            tok = try Tokenizer(path: tokenizer)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        var lineNumber = 0
        var badLines = 0
        var out = ""
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if decode {
                switch Self.parseIDs(line, tokenizer: tok) {
                case let .success(ids):
                    out += tok.decode(ids, skipSpecialTokens: !withSpecial) + "\n"
                case let .failure(message):
                    badLines += 1
                    FileHandle.standardError.write(Data("line \(lineNumber): \(message)\n".utf8))
                    out += "\n"
                }
            } else {
                out += "[" + tok.encode(line).map(String.init).joined(separator: ",") + "]\n"
            }
            if out.utf8.count > 1 << 16 { Self.flush(&out) }
        }
        Self.flush(&out)
        if badLines > 0 { throw ExitCode(1) }
    }

    private enum Parsed { case success([Int]), failure(String) }

    private static func parseIDs(_ line: String, tokenizer: Tokenizer) -> Parsed {
        let value: OrderedJSON
        do {
            value = try OrderedJSON.parse(line)
        } catch {
            return .failure("expected a JSON array of token ids like [1,2,3]: \(error)")
        }
        guard case let .array(items) = value else { return .failure("expected a JSON array of token ids like [1,2,3]") }
        var ids: [Int] = []
        for (k, item) in items.enumerated() {
            guard case let .int(id) = item else { return .failure("element \(k) is \(item.pythonJSON), expected an integer id") }
            guard tokenizer.contains(id: id) else {
                return .failure("id \(id) (element \(k)) is not in the tokenizer's vocabulary of \(tokenizer.vocabSize) tokens")
            }
            ids.append(id)
        }
        return .success(ids)
    }

    private static func flush(_ out: inout String) {
        FileHandle.standardOutput.write(Data(out.utf8))
        out = ""
    }
}
