// A second synthetic world, unlike the demo's shapes: one arrow per image (direction, colour,
// size), other image sizes, other questions and answer words. The tests train the from-scratch
// recipe on it (with and without captions), and `minimind-v scratch-data` writes a larger set for
// the 15-minute budget check (Docs/Scratch.md). Files are in the JSONL + image-folder layout.
import Foundation
import MiniMindV

public struct Arrow: Codable, Equatable, Sendable {
    public enum Direction: String, CaseIterable, Codable, Sendable { case up, down, left, right }
    public enum Colour: String, CaseIterable, Codable, Sendable {
        case red, green, blue, black
        var rgb: SIMD3<Float> {
            switch self {
            case .red: return [210, 40, 40]
            case .green: return [40, 150, 60]
            case .blue: return [40, 80, 220]
            case .black: return [25, 25, 25]
            }
        }
    }
    public enum Size: String, CaseIterable, Codable, Sendable { case big, small }

    public var direction: Direction
    public var colour: Colour
    public var size: Size
    /// Centre offset in pixels and background grey.
    public var dx: Float, dy: Float, background: Float

    public static func random(_ g: inout SeededGenerator) -> Arrow {
        Arrow(direction: Direction.allCases[Int(g.next() % 4)], colour: Colour.allCases[Int(g.next() % 4)],
              size: Size.allCases[Int(g.next() % 2)], dx: 4 * (g.nextUniform() - 0.5), dy: 4 * (g.nextUniform() - 0.5),
              background: 170 + 70 * g.nextUniform())
    }

    public var caption: String { "a \(size.rawValue) \(colour.rawValue) arrow pointing \(direction.rawValue)" }

    /// (type, question, answer), one per type.
    public var questions: [(type: String, question: String, answer: String)] {
        [("direction", "Which way does the arrow point?", direction.rawValue),
         ("colour", "What colour is the arrow?", colour.rawValue),
         ("size", "Is the arrow big or small?", size.rawValue)]
    }

    /// Drawn pointing right in its own frame (shaft and head), turned to its direction; 2×2 supersampled.
    public func render(size side: Int, noiseSeed: UInt64) throws -> RGBImage {
        var g = SeededGenerator(seed: noiseSeed)
        let s = Float(side), half = (size == .big ? 0.42 : 0.24) * s
        let cx = s / 2 + dx, cy = s / 2 + dy
        func inside(_ x: Float, _ y: Float) -> Bool {
            var u = x - cx, v = y - cy  // u along the arrow, v across
            switch direction {
            case .right: break
            case .left: u = -u
            case .up: (u, v) = (-v, u)
            case .down: (u, v) = (v, u)
            }
            let headStart = half * 0.2
            if u >= -half && u < headStart { return abs(v) <= half * 0.18 }
            if u >= headStart && u <= half { return abs(v) <= (half - u) / (half - headStart) * half * 0.55 }
            return false
        }
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        let bg = SIMD3<Float>(repeating: background)
        for y in 0..<side {
            for x in 0..<side {
                var acc = SIMD3<Float>(repeating: 0)
                for sy in 0..<2 { for sx in 0..<2 {
                    acc += inside(Float(x) + (Float(sx) + 0.5) / 2, Float(y) + (Float(sy) + 0.5) / 2) ? colour.rgb : bg
                } }
                let v = acc / 4 + 8 * (g.nextUniform() - 0.5)
                let i = (y * side + x) * 3
                pixels[i] = UInt8(max(0, min(255, v.x.rounded())))
                pixels[i + 1] = UInt8(max(0, min(255, v.y.rounded())))
                pixels[i + 2] = UInt8(max(0, min(255, v.z.rounded())))
            }
        }
        return try RGBImage(width: side, height: side, pixels: pixels)
    }
}

/// Writes `train.jsonl` (every question of an image in one conversation), `validation.jsonl` and
/// `test.jsonl` (one question per line, with its `type`), optionally `captions.jsonl` (train
/// captions), and `images/`.
public enum ArrowsDataGenerator {
    public struct Files: Sendable {
        public let folder: URL
        public var images: URL { folder.appendingPathComponent("images") }
        public var train: URL { folder.appendingPathComponent("train.jsonl") }
        public var captions: URL { folder.appendingPathComponent("captions.jsonl") }
        public var validation: URL { folder.appendingPathComponent("validation.jsonl") }
        public var test: URL { folder.appendingPathComponent("test.jsonl") }
    }

    @discardableResult
    public static func write(to folder: URL, sizes: DemoDataSizes, imageSize: Int, seed: UInt64, captions: Bool,
                             progress: StageProgress? = nil) throws -> Files {
        let files = Files(folder: folder)
        do { try FileManager.default.createDirectory(at: files.images, withIntermediateDirectories: true) } catch {
            throw DemoError.io(path: files.images.path, reason: error.localizedDescription)
        }
        var train: [DemoSample] = [], caps: [DemoSample] = [], validation: [DemoSample] = [], test: [DemoSample] = []
        progress?.start("data", total: sizes.train + sizes.validation + sizes.test, unit: "images")
        var done = 0
        for (index, (split, count)) in [("train", sizes.train), ("validation", sizes.validation), ("test", sizes.test)].enumerated() {
            var g = SeededGenerator(seed: seed &+ UInt64(index + 1) &* 0xD1B5_4A32_D192_ED03)
            for k in 0..<count {
                let arrow = Arrow.random(&g)
                let name = "\(split)-\(String(format: "%05d", k)).png"
                try DemoDataGenerator.writeImage(try arrow.render(size: imageSize, noiseSeed: g.next()),
                                                 to: files.images.appendingPathComponent(name))
                var qas = arrow.questions
                if split == "train" {
                    qas.shuffle(using: &g)
                    train.append(DemoDataGenerator.sample(qas.map { ($0.question, $0.answer) }, image: name))
                    if captions { caps.append(DemoDataGenerator.sample([("Describe the image.", arrow.caption)], image: name)) }
                } else {
                    for qa in qas {
                        var s = DemoDataGenerator.sample([(qa.question, qa.answer)], image: name)
                        s.type = qa.type
                        if split == "test" { test.append(s) } else { validation.append(s) }
                    }
                }
                done += 1
                progress?.update(done)
            }
        }
        try DemoDataGenerator.writeLines(train, to: files.train)
        if captions { try DemoDataGenerator.writeLines(caps, to: files.captions) }
        try DemoDataGenerator.writeLines(validation, to: files.validation)
        try DemoDataGenerator.writeLines(test, to: files.test)
        progress?.finish()
        return files
    }
}
