// The library's errors say what is wrong in its own terms (a missing vision encoder, a tokenizer
// that does not fit the model, a conversion the output cannot hold); this adds which command-line
// flag fixes it. Every command's errors pass through here (MiniMindCommand.main); chat and caption
// also use it for the errors they report and continue after.
import Foundation
import MiniMindV

/// A library error with the flag advice of this tool appended.
struct FlagAdvice: Error, CustomStringConvertible {
    let underlying: Error

    /// What to change on the command line for `underlying`, or nil when the message is enough.
    var advice: String? {
        switch underlying {
        case let error as ModelError: return Self.advice(error)
        case let error as ConversionError: return Self.advice(error)
        case GenerationError.promptTooLong: return "chat and serve take a longer context with --context N, up to the model's positions"
        case TrainingDataError.strictStop: return "without --strict, malformed rows are counted and skipped"
        case let error as InputRangeError: return FieldFlags.advice(field: error.field)
        case let CompressionError.outOfRange(field, _, _): return FieldFlags.advice(field: field)
        default: return nil
        }
    }

    static func advice(_ error: ModelError) -> String? {
        switch error {
        case .ambiguousConfig: return "pass --preset NAME (convert, pretrain and sft: or --config FILE), or load a model folder with its config.json"
        case .noVisionEncoder: return "give the vision folder: --vision DIR with --weights, or a model folder with vision/"
        case .tokenizerMissing: return "give --tokenizer DIR (and --vision DIR for images)"
        case .vocabularyMismatch: return "use the tokenizer the model was trained with: --tokenizer DIR with --weights, or the model folder's own tokenizer.json"
        default: return nil
        }
    }

    static func advice(_ error: ConversionError) -> String {
        switch error {
        case .quantizedNeedsFolder: return "--quantize writes a model folder: give an output folder (--format folder)"
        case .configForWeightsFile: return "drop --preset and --config for a weights file, or write a model folder"
        case .dtypeForGGUF: return "GGUF output takes --type f32|f16|q8_0|q4_0 instead of --dtype"
        case .ggufNeedsTokenizer: return "give --tokenizer DIR"
        case .configGivenTwice: return "drop --config"
        case .quantizedNeedsVisionAndTokenizer: return "give --vision DIR and --tokenizer DIR"
        case .presetContradictsConfig, .presetContradictsWeights: return "drop --preset, or name the preset these weights are"
        }
    }

    var description: String { advice.map { "\(underlying) (\($0))" } ?? "\(underlying)" }

    /// `error` with its flag advice, or `error` itself when there is none (so that ArgumentParser
    /// still sees its own errors, help requests and clean exits).
    static func advising(_ error: Error) -> Error {
        if error is FlagAdvice { return error }
        let advised = FlagAdvice(underlying: error)
        return advised.advice == nil ? error : advised
    }

    /// Runs `body`, adding flag advice to the library error it throws.
    static func adding<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw advising(error) }
    }
}
