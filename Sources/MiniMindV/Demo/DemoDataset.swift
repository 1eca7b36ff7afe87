// The demo's data on disk in the older upstream layout: JSONL lines
// `{"conversations":[{"role":"user","content":"<image>\n..."},{"role":"assistant","content":"..."}],"image":"x.png"}`
// plus an image folder, so the training stages read their samples back the way real data is read.
import Foundation

public enum DemoError: Error, CustomStringConvertible {
    case badDataLine(file: String, line: Int, reason: String)
    case missingImage(file: String, line: Int, image: String)
    case io(path: String, reason: String)
    case tokenizer(String)

    public var description: String {
        switch self {
        case let .badDataLine(file, line, reason):
            return "\(file):\(line): not a demo sample line ({\"conversations\": [...], \"image\": \"name.png\"}): \(reason)"
        case let .missingImage(file, line, image):
            return "\(file):\(line): image '\(image)' is not in the images folder next to the file"
        case let .io(path, reason): return "\(path): \(reason)"
        case let .tokenizer(why): return "demo tokenizer: \(why)"
        }
    }
}

/// One line of a data file: a conversation about one image (question type set for test lines).
public struct DemoSample: Codable, Equatable, Sendable {
    public struct Message: Codable, Equatable, Sendable {
        public var role: String
        public var content: String
    }
    public var conversations: [Message]
    public var image: String
    /// Only in the test file: the question type, to score accuracy per type.
    public var type: DemoQuestionType?
}

/// How many images each split gets.
public struct DemoDataSizes: Sendable {
    public var train: Int, validation: Int, test: Int
    public init(train: Int, validation: Int, test: Int) {
        self.train = train
        self.validation = validation
        self.test = test
    }
}

/// The generated files: `images/`, `pretrain.jsonl` (train captions), `sft.jsonl` (train
/// conversations: 3–4 questions, then the caption), `validation.jsonl` and `test.jsonl` (one question per line).
public struct DemoDataFiles: Sendable {
    public let folder: URL
    /// Every image's scene by file name (the vision stage's per-cell targets).
    public var scenes: [String: DemoScene] = [:]
    public var images: URL { folder.appendingPathComponent("images") }
    public var pretrain: URL { folder.appendingPathComponent("pretrain.jsonl") }
    public var sft: URL { folder.appendingPathComponent("sft.jsonl") }
    public var validation: URL { folder.appendingPathComponent("validation.jsonl") }
    public var test: URL { folder.appendingPathComponent("test.jsonl") }
    public init(folder: URL) { self.folder = folder }
}

public enum DemoDataGenerator {
    /// Generates and writes every split (seeded: the same seed gives the same files).
    @discardableResult
    public static func write(to folder: URL, sizes: DemoDataSizes, imageSize: Int, seed: UInt64,
                             progress: DemoProgress? = nil) throws -> DemoDataFiles {
        var files = DemoDataFiles(folder: folder)
        do {
            try FileManager.default.createDirectory(at: files.images, withIntermediateDirectories: true)
        } catch {
            throw DemoError.io(path: files.images.path, reason: error.localizedDescription)
        }
        var pretrain: [DemoSample] = [], sft: [DemoSample] = [], validation: [DemoSample] = [], test: [DemoSample] = []
        let total = sizes.train + sizes.validation + sizes.test
        progress?.start("data", total: total, unit: "images")
        var done = 0
        for (index, (split, count)) in [("train", sizes.train), ("validation", sizes.validation), ("test", sizes.test)].enumerated() {
            // Each split has its own stream, so the test images do not depend on the train size.
            var g = SeededGenerator(seed: seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
            for k in 0..<count {
                let scene = DemoScene.random(imageSize: imageSize, generator: &g)
                let name = "\(split)-\(String(format: "%05d", k)).png"
                let image = scene.render(size: imageSize, noiseSeed: g.next())
                try writeImage(image, to: files.images.appendingPathComponent(name))
                files.scenes[name] = scene
                var qas = DemoLanguage.questions(scene, generator: &g)
                switch split {
                case "train":
                    pretrain.append(sample([(DemoLanguage.describePrompt, DemoLanguage.caption(scene))], image: name))
                    // Every question in one multi-turn conversation: each extra turn costs ~18 tokens,
                    // a separate sample ~41 (system turn and image again). The caption comes last,
                    // so no answer can be copied from it: the questions must read the image.
                    qas.shuffle(using: &g)
                    sft.append(sample(qas.map { ($0.question, $0.answer) }
                                          + [(DemoLanguage.describePrompt, DemoLanguage.caption(scene))], image: name))
                default:
                    for qa in qas {
                        var s = sample([(qa.question, qa.answer)], image: name)
                        s.type = qa.type
                        if split == "test" { test.append(s) } else { validation.append(s) }
                    }
                }
                done += 1
                progress?.update(done)
            }
        }
        try writeLines(pretrain, to: files.pretrain)
        try writeLines(sft, to: files.sft)
        try writeLines(validation, to: files.validation)
        try writeLines(test, to: files.test)
        progress?.finish()
        return files
    }

    /// A conversation whose first user turn carries the image marker.
    static func sample(_ turns: [(String, String)], image: String) -> DemoSample {
        var messages: [DemoSample.Message] = []
        for (k, t) in turns.enumerated() {
            messages.append(.init(role: "user", content: k == 0 ? "<image>\n" + t.0 : t.0))
            messages.append(.init(role: "assistant", content: t.1))
        }
        return DemoSample(conversations: messages, image: image, type: nil)
    }

    static func writeImage(_ image: RGBImage, to url: URL) throws {
        do { try image.pngData().write(to: url) } catch {
            throw DemoError.io(path: url.path, reason: "cannot write PNG: \(error)")
        }
    }

    static func writeLines(_ samples: [DemoSample], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for s in samples {
            guard let line = try? encoder.encode(s), let str = String(data: line, encoding: .utf8) else {
                throw DemoError.io(path: url.path, reason: "cannot encode a sample as JSON")
            }
            text += str + "\n"
        }
        do { try Data(text.utf8).write(to: url, options: .atomic) } catch {
            throw DemoError.io(path: url.path, reason: error.localizedDescription)
        }
    }
}

public enum DemoDataReader {
    /// Reads a JSONL data file; every line must name an image that exists in `images`.
    public static func read(_ url: URL, images: URL) throws -> [DemoSample] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DemoError.io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        var out: [DemoSample] = []
        for (k, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            let sample: DemoSample
            do { sample = try decoder.decode(DemoSample.self, from: Data(line)) } catch {
                throw DemoError.badDataLine(file: url.path, line: k + 1, reason: "\(error)")
            }
            guard sample.conversations.count >= 2 else {
                throw DemoError.badDataLine(file: url.path, line: k + 1, reason: "needs a user and an assistant turn")
            }
            guard FileManager.default.fileExists(atPath: images.appendingPathComponent(sample.image).path) else {
                throw DemoError.missingImage(file: url.path, line: k + 1, image: sample.image)
            }
            out.append(sample)
        }
        return out
    }
}
