import Foundation
import XCTest
@testable import MiniMindV
import MiniMindVDemo

/// Runs the built `minimind-v` binary (it sits next to the test bundle in the build folder) and
/// makes a tiny model folder for it: a random MiniMind-V–shaped model with a BPE tokenizer and
/// the MiniMind2 chat template, so CLI behaviour is tested without any downloaded asset.
enum CLISupport {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [here, here.deletingLastPathComponent(), here.deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent("minimind-v") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static func run(_ arguments: [String], stdin: String = "") throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// A folder for the test, removed afterwards.
    static func folder(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmv-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A tiny model folder (config.json, model.safetensors, tokenizer files, vision/) in `dir`.
    static func tinyModel(in dir: URL) throws -> URL {
        let tokenizerDir = dir.appendingPathComponent("tokenizer")
        let texts = ScratchTokenizer.templateTexts() + (0..<40).map { "a red square on a blue circle number \($0) is here" }
        let tokenizer = try ScratchTokenizer.train(texts: texts, vocabSize: 300, folder: tokenizerDir, imagePlaceholder: "@")
        let model = try GenerationTestSupport.tinyVLM(tokenizer: tokenizer)
        let folder = dir.appendingPathComponent("model")
        try VLMBundle(model: model, tokenizer: tokenizer).save(to: folder, tokenizerFiles: tokenizerDir)
        return folder
    }

    /// A small picture file.
    static func picture(in dir: URL, name: String = "p.png") throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(try GenerationTestSupport.picture(seed: 1).pngData()).write(to: url)
        return url.path
    }
}
