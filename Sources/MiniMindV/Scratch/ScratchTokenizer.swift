// The recipe's first stage: a small byte-level BPE trained on the data's text, with the MiniMind2
// special tokens (<|endoftext|>=0, <|im_start|>=1, <|im_end|>=2) and the MiniMind2 chat template,
// so `ChatTemplate(tokenizer:)` recognises it as a MiniMind2 tokenizer. The image placeholder is
// reserved: either a special token of its own (`<|image_pad|>`, id 3, as minimind-3v has it) or a
// single character that no training text contains (MiniMind2-V's '@'), so that no merge involves it
// and a run of N placeholders always encodes to N copies of one id.
import Foundation

public enum ScratchTokenizer {
    public static let specialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    /// The placeholder of the general recipe: a special token, so '@' in people's text stays text.
    public static let defaultImagePlaceholder = "<|image_pad|>"

    /// Trains, writes tokenizer.json + tokenizer_config.json into `folder`, and loads them back.
    /// `texts` must not contain the placeholder (`ScratchError.tokenizer` otherwise).
    public static func train(texts: [String], vocabSize: Int, folder: URL, imagePlaceholder: String = defaultImagePlaceholder,
                             maxLength: Int = 512) throws -> Tokenizer {
        if texts.contains(where: { $0.contains(imagePlaceholder) }) {
            throw ScratchError.tokenizer("training text must not contain the image placeholder '\(imagePlaceholder)'")
        }
        let special = specialTokens + (imagePlaceholder.count > 1 ? [imagePlaceholder] : [])
        let result = try BPETrainer(vocabSize: vocabSize, specialTokens: special, minFrequency: 2).train(texts)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try result.write(to: folder.appendingPathComponent("tokenizer.json"))
            let config: [String: Any] = [
                "add_bos_token": false, "add_eos_token": false, "add_prefix_space": false,
                "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>", "model_max_length": maxLength, "clean_up_tokenization_spaces": false,
                "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": MiniMind2ChatTemplate.miniMind2,
            ]
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: folder.appendingPathComponent("tokenizer_config.json"), options: .atomic)
        } catch let e as TokenizerError {
            throw e
        } catch {
            throw ScratchError.io(path: folder.path, reason: "cannot write the tokenizer: \(error.localizedDescription)")
        }
        let tokenizer = try Tokenizer(contentsOf: folder)
        let run = tokenizer.encode(String(repeating: imagePlaceholder, count: 3))
        guard run.count == 3, Set(run).count == 1 else {
            throw ScratchError.tokenizer("'\(imagePlaceholder)' does not encode to one id per placeholder")
        }
        return tokenizer
    }

    /// Text that teaches the BPE the template's fixed pieces as well as the data.
    public static func templateTexts() -> [String] {
        ["<|im_start|>system\nYou are a helpful assistant<|im_end|>\n", "<|im_start|>user\n", "<|im_start|>assistant\n"]
    }
}

/// What can go wrong in a from-scratch run besides the library's own typed errors.
public enum ScratchError: Error, CustomStringConvertible {
    case io(path: String, reason: String)
    case tokenizer(String)
    case skippedRows(file: String, count: Int)
    case data(String)
    case checkpoint(path: String, reason: String)
    /// A stage was stopped (interrupt or callback); its resume file is saved: run again with resume on.
    case interrupted(stage: String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .skippedRows(file, count): return "\(file): \(count) row(s) could not be read"
        case let .tokenizer(why): return "tokenizer: \(why)"
        case let .data(why): return "data: \(why)"
        case let .checkpoint(path, reason): return "checkpoint \(path): \(reason)"
        case let .interrupted(stage): return "stopped during stage '\(stage)' (its checkpoint is saved; run again with --resume to continue)"
        }
    }
}
