// The demo's data on disk in the older upstream layout: JSONL lines
// `{"conversations":[{"role":"user","content":"<image>\n..."},{"role":"assistant","content":"..."}],"image":"x.png"}`
// plus an image folder, so the training stages read their samples back the way real data is read.
import Foundation
import MiniMindV

public enum DemoError: Error, CustomStringConvertible {
    case io(path: String, reason: String)
    case skippedRows(file: String, count: Int)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .skippedRows(file, count): return "\(file): \(count) row(s) the demo wrote could not be read back"
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
    public var type: String?
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
/// conversations: 3–4 questions, then the caption; and for every `captionEvery`-th image also the
/// caption asked alone), `validation.jsonl` and `test.jsonl` (one question per line, with its
/// `type`), `test-captions.jsonl` (the caption question for every test image).
public struct DemoDataFiles: Sendable {
    public let folder: URL
    /// Every image's scene by file name (the vision stage's per-cell targets).
    public var scenes: [String: DemoScene] = [:]
    public var images: URL { folder.appendingPathComponent("images") }
    public var pretrain: URL { folder.appendingPathComponent("pretrain.jsonl") }
    public var sft: URL { folder.appendingPathComponent("sft.jsonl") }
    public var validation: URL { folder.appendingPathComponent("validation.jsonl") }
    public var test: URL { folder.appendingPathComponent("test.jsonl") }
    public var testCaptions: URL { folder.appendingPathComponent("test-captions.jsonl") }
    public init(folder: URL) { self.folder = folder }
}

public enum DemoDataGenerator {
    /// Generates and writes every split (seeded: the same seed gives the same files).
    @discardableResult
    /// `captionEvery`: every this many training images also get a single-turn caption sample in
    /// the SFT file (0: none), so a caption asked first is trained, not only as a conversation's last turn.
    public static func write(to folder: URL, sizes: DemoDataSizes, imageSize: Int, seed: UInt64, captionEvery: Int = 4,
                             progress: StageProgress? = nil) throws -> DemoDataFiles {
        var files = DemoDataFiles(folder: folder)
        do {
            try FileManager.default.createDirectory(at: files.images, withIntermediateDirectories: true)
        } catch {
            throw DemoError.io(path: files.images.path, reason: error.localizedDescription)
        }
        var pretrain: [DemoSample] = [], sft: [DemoSample] = [], validation: [DemoSample] = [], test: [DemoSample] = []
        var testCaptions: [DemoSample] = []
        let total = sizes.train + sizes.validation + sizes.test
        progress?.start("data", total: total, unit: "images")
        var done = 0
        for (index, (split, count)) in [("train", sizes.train), ("validation", sizes.validation), ("test", sizes.test)].enumerated() {
            // Each split has its own stream, so the test images do not depend on the train size.
            var g = SeededGenerator(seed: seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
            for k in 0..<count {
                let scene = DemoScene.random(imageSize: imageSize, generator: &g)
                let name = "\(split)-\(String(format: "%05d", k)).png"
                let image = try scene.render(size: imageSize, noiseSeed: g.next())
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
                    // The caption asked alone, as `minimind-v caption` asks it (no draw: the data
                    // stream stays the same as without these samples).
                    if captionEvery > 0 && k % captionEvery == 0 {
                        sft.append(sample([(DemoLanguage.describePrompt, DemoLanguage.caption(scene))], image: name))
                    }
                default:
                    if split == "test" {
                        testCaptions.append(sample([(DemoLanguage.describePrompt, DemoLanguage.caption(scene))], image: name))
                    }
                    for qa in qas {
                        var s = sample([(qa.question, qa.answer)], image: name)
                        s.type = qa.type.rawValue
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
        try writeLines(testCaptions, to: files.testCaptions)
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
