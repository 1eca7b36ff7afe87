// The library's errors say what is wrong in its own terms (a missing vision encoder, a tokenizer
// that does not fit the model); this adds which command-line flag fixes it.
import Foundation
import MiniMindV

/// A library error with the flag advice of this tool appended.
struct FlagAdvice: Error, CustomStringConvertible {
    let underlying: Error

    /// What to change on the command line for `underlying`, or nil when the message is enough.
    var advice: String? {
        guard let error = underlying as? ModelError else { return nil }
        switch error {
        case .ambiguousConfig: return "pass --preset NAME, or load a model folder with its config.json"
        case .noVisionEncoder: return "give the vision folder: --vision DIR with --weights, or a model folder with vision/"
        case .tokenizerMissing: return "give --tokenizer DIR (and --vision DIR for images)"
        case .vocabularyMismatch: return "use the tokenizer the model was trained with: --tokenizer DIR with --weights, or the model folder's own tokenizer.json"
        default: return nil
        }
    }

    var description: String { advice.map { "\(underlying) (\($0))" } ?? "\(underlying)" }

    /// Runs `body`, adding flag advice to the library error it throws.
    static func adding<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ModelError { throw FlagAdvice(underlying: error) }
    }
}
