// Stage 2: a small byte-level BPE trained on the demo's text, with the MiniMind2 special tokens
// (<|endoftext|>=0, <|im_start|>=1, <|im_end|>=2) and the MiniMind2 chat template. The image
// placeholder is the MiniMind2-V one, '@': no training text contains '@', so no merge involves it
// and '@'×N always encodes to N copies of one id.
import Foundation
import MiniMindV

public enum DemoTokenizer {
    public static let specialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    public static let imagePlaceholder = "@"

    /// Trains, writes tokenizer.json + tokenizer_config.json into `folder`, and loads them back.
    public static func train(texts: [String], vocabSize: Int, folder: URL) throws -> Tokenizer {
        if texts.contains(where: { $0.contains(imagePlaceholder) }) {
            throw DemoError.tokenizer("training text must not contain the image placeholder '\(imagePlaceholder)'")
        }
        let result = try BPETrainer(vocabSize: vocabSize, specialTokens: specialTokens, minFrequency: 2).train(texts)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try result.write(to: folder.appendingPathComponent("tokenizer.json"))
            let config: [String: Any] = [
                "add_bos_token": false, "add_eos_token": false, "add_prefix_space": false,
                "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                "unk_token": "<|endoftext|>", "model_max_length": 512, "clean_up_tokenization_spaces": false,
                "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": DemoChatTemplate.miniMind2,
            ]
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: folder.appendingPathComponent("tokenizer_config.json"), options: .atomic)
        } catch let e as TokenizerError {
            throw e
        } catch {
            throw DemoError.io(path: folder.path, reason: "cannot write the tokenizer: \(error.localizedDescription)")
        }
        let tokenizer = try Tokenizer(contentsOf: folder)
        guard tokenizer.encode(String(repeating: imagePlaceholder, count: 3)).count == 3 else {
            throw DemoError.tokenizer("'\(imagePlaceholder)' does not encode to one id per character")
        }
        return tokenizer
    }

    /// Text that teaches the BPE the template's fixed pieces as well as the data.
    public static func templateTexts() -> [String] {
        ["<|im_start|>system\nYou are a helpful assistant<|im_end|>\n", "<|im_start|>user\n", "<|im_start|>assistant\n"]
    }
}
