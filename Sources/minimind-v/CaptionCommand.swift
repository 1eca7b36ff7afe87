// `minimind-v caption`: describe many images, decoding them in batches.
import ArgumentParser
import Foundation
import MiniMindV

struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Caption images (files or folders of images), several at a time.",
        discussion: """
            Each image is asked --prompt (with <image> where it goes; without one the image is placed
            first); without --prompt, the caption prompt of the model folder's generation_config.json
            (the one the model was trained with), else upstream MiniMind-V's. Output: `path<TAB>text` per image, or with --jsonl one JSON object per line:
            {"image": path, "text": caption, "ids": [generated token ids]}. An image that cannot be read
            gives {"image": path, "error": message} (or a message on stderr) and the exit status is 1;
            the other images are still captioned.
            """)

    @OptionGroup var modelOptions: ModelLoadingOptions
    @OptionGroup var sampling: SamplingFlags

    @Argument(help: "Image files or folders (folders: their .jpg/.jpeg/.png/.bmp/.gif files, sorted).")
    var inputs: [String]

    @Option(name: .long, help: "The question asked about each image (default: the model folder's generation_config.json caption prompt, else upstream's \"<image>\\n描述一下这张图片的内容。\").")
    var prompt: String?

    @Flag(name: .long, help: "One JSON object per line: {\"image\", \"text\", \"ids\"}.")
    var jsonl = false

    @Option(name: .customLong("batch-size"), help: "Images decoded together.")
    var batchSize = 4

    @Flag(name: .long, help: "Print timings per batch (stderr).")
    var stats = false

    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "gif", "tga"]

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let bundle = try modelOptions.loadForGeneration(sampling)
        let generator = Generator(bundle: bundle)
        let options = sampling.options(for: bundle)
        let question = prompt ?? bundle.captionPrompt
        var failures = 0
        var batch: [(path: String, prompt: GenerationPrompt)] = []

        func flush() {
            guard !batch.isEmpty else { return }
            do {
                let results = try generator.generateBatch(batch.map(\.prompt), options: options)
                for (item, result) in zip(batch, results) { emit(item.path, result) }
                if stats, let first = results.first { printError("[\(batch.count) image(s): \(first.stats.summary)]") }
            } catch {
                for item in batch { fail(item.path, "\(FlagAdvice(underlying: error))") }
            }
            batch.removeAll()
        }
        func fail(_ path: String, _ message: String) {
            failures += 1
            if jsonl { print(Self.json(["image": path, "error": message])) } else { printError("\(path): \(message)") }
        }

        for path in expand(inputs, onError: { fail($0, $1) }) {
            do {
                let image = try RGBImage(contentsOf: URL(fileURLWithPath: path))
                let p = try generator.chatPrompt(question, images: [.image(image)])
                batch.append((path, p))
            } catch {
                fail(path, "\(FlagAdvice(underlying: error))")
            }
            if batch.count == batchSize { flush() }
        }
        flush()
        if failures > 0 { throw ExitCode(1) }
    }

    private func emit(_ path: String, _ result: GenerationResult) {
        if jsonl {
            print(Self.json(["image": path, "text": result.text, "ids": result.ids]))
        } else {
            print("\(path)\t\(result.text.replacingOccurrences(of: "\n", with: " "))")
        }
        fflush(stdout)
    }

    /// Files as given; folders → their image files, sorted. Missing paths are reported.
    private func expand(_ inputs: [String], onError: (String, String) -> Void) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for input in inputs {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDir) else {
                onError(input, "no such file or folder")
                continue
            }
            if !isDir.boolValue { out.append(input); continue }
            let names = (try? fm.contentsOfDirectory(atPath: input)) ?? []
            out += names.filter { Self.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                .map { (input as NSString).appendingPathComponent($0) }
        }
        return out
    }

    /// One JSON line with keys in a fixed order (image, text/error, ids).
    static func json(_ fields: [String: Any]) -> String {
        var parts: [String] = []
        for key in ["image", "text", "error", "ids"] {
            guard let value = fields[key] else { continue }
            let data = (try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])) ?? Data("[null]".utf8)
            let encoded = String(decoding: data, as: UTF8.self).dropFirst().dropLast()
            parts.append("\"\(key)\":\(encoded)")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
