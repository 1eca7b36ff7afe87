// `minimind-v scratch-data`: writes the arrows dataset (a second synthetic world, unlike the demo's
// shapes) in the JSONL + image-folder layout, to try `minimind-v scratch` on data the demo does not make.
import ArgumentParser
import Foundation
import MiniMindV
import MiniMindVDemo

struct ScratchDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scratch-data",
        abstract: "Write the synthetic arrows dataset (direction, colour, size questions) for `minimind-v scratch`.")

    @Option(name: .long, help: "Output folder (train.jsonl, validation.jsonl, test.jsonl, images/).") var out: String
    @Option(name: .long, help: "Training images.") var train = 3000
    @Option(name: .long, help: "Validation images.") var validation = 100
    @Option(name: .long, help: "Test images (three questions each).") var test = 300
    @Option(name: .long, help: "Image side in pixels.") var imageSize = 40
    @Option(name: .long, help: "Seed.") var seed: UInt64 = 1
    @Flag(name: .long, help: "Also write captions.jsonl.") var captions = false

    func run() throws {
        do {
            try InputRange.check("--train", train, in: 1...1_000_000)
            try InputRange.check("--validation", validation, in: 0...1_000_000)
            try InputRange.check("--test", test, in: 1...1_000_000)
            try InputRange.check("--image-size", imageSize, in: 8...1024)
            let files = try ArrowsDataGenerator.write(to: URL(fileURLWithPath: out).standardizedFileURL,
                                                      sizes: DemoDataSizes(train: train, validation: validation, test: test),
                                                      imageSize: imageSize, seed: seed, captions: captions, progress: .stderr())
            print("wrote \(files.folder.path): train.jsonl, validation.jsonl, test.jsonl\(captions ? ", captions.jsonl" : ""), images/")
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
