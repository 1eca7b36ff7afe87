// Captions and question–answer pairs about a scene. Answers are one word, so exact match is a fair
// score; each question type has a known chance level to compare the blanked-image answers with.
import Foundation
import MiniMindV

public enum DemoQuestionType: String, CaseIterable, Codable, Sendable {
    /// "What colour is the circle?" (asked only about a shape that occurs once) → one of 6 colours.
    case colour
    /// "What shape is in the northwest?" (an occupied cell) → one of 4 shapes.
    case shape
    /// "How many shapes are there?" → one / two / three.
    case count
    /// "Is there a red circle?" → yes / no, balanced, negatives mostly one attribute away.
    case exists

    /// Accuracy of guessing uniformly among the possible answers.
    public var chance: Double {
        switch self {
        case .colour: return 1.0 / Double(DemoColour.allCases.count)
        case .shape: return 1.0 / Double(DemoShape.allCases.count)
        case .count: return 1.0 / 3
        case .exists: return 0.5
        }
    }
}

public struct DemoQA: Codable, Equatable, Sendable {
    public var type: DemoQuestionType
    public var question: String
    public var answer: String
}

public enum DemoLanguage {
    /// The user turn of a captioning (pretrain) sample.
    public static let describePrompt = "Describe the image."
    /// The caption question as a single turn asks it (image first, as in the pretrain file).
    public static let captionQuestion = "<image>\n" + describePrompt
    /// Enough for the longest caption (three objects: 3 × 3 words and 2 commas, each one token, + eos).
    public static let captionTokens = 32

    /// The saved model folder's example questions: one of each type.
    public static let exampleQuestions = ["What colour is the circle?", "What shape is in the northwest?",
                                          "How many shapes are there?", "Is there a red circle?"]
    public static let numberWords = ["zero", "one", "two", "three", "four"]

    /// "northwest circle red, centre square blue": each object as place, shape, colour, in reading
    /// order. The order is what makes captions teach the questions: the word after a place word is
    /// the answer to "What shape is in the <place>?" and the word after a shape word the answer to
    /// "What colour is the <shape>?", so predicting the caption trains the same one-step lookups
    /// (from the question's own word to its image token) that the answers need.
    public static func caption(_ scene: DemoScene) -> String {
        scene.objects.isEmpty ? "nothing" : scene.objects.map { piece($0.position, $0.shape, $0.colour) }.joined(separator: ", ")
    }

    /// One object's part of the caption.
    public static func piece(_ position: DemoPosition, _ shape: DemoShape, _ colour: DemoColour) -> String {
        "\(position.phrase) \(shape.rawValue) \(colour.rawValue)"
    }

    /// One question of each type the scene allows, in type order.
    public static func questions(_ scene: DemoScene, generator g: inout SeededGenerator) -> [DemoQA] {
        var out: [DemoQA] = []
        let objects = scene.objects
        guard !objects.isEmpty else { return out }
        let unique = objects.filter { o in objects.filter { $0.shape == o.shape }.count == 1 }
        if !unique.isEmpty {
            let o = unique[Int(g.next() % UInt64(unique.count))]
            out.append(DemoQA(type: .colour, question: "What colour is the \(o.shape.rawValue)?", answer: o.colour.rawValue))
        }
        let o = objects[Int(g.next() % UInt64(objects.count))]
        out.append(DemoQA(type: .shape, question: "What shape is in the \(o.position.phrase)?", answer: o.shape.rawValue))
        out.append(DemoQA(type: .count, question: "How many shapes are there?", answer: numberWords[objects.count]))
        let present = Set(objects.map { "\($0.colour.rawValue) \($0.shape.rawValue)" })
        var asked: String
        if g.nextUniform() < 0.5 {
            let p = objects[Int(g.next() % UInt64(objects.count))]
            asked = "\(p.colour.rawValue) \(p.shape.rawValue)"
        } else {
            repeat {
                // Mostly a near miss (one attribute of a present object changed), sometimes anything.
                let p = objects[Int(g.next() % UInt64(objects.count))]
                var colour = p.colour, shape = p.shape
                let r = g.nextUniform()
                if r < 0.4 || r >= 0.8 { colour = DemoColour.allCases[Int(g.next() % 6)] }
                if r >= 0.4 { shape = DemoShape.allCases[Int(g.next() % 4)] }
                asked = "\(colour.rawValue) \(shape.rawValue)"
            } while present.contains(asked)
        }
        out.append(DemoQA(type: .exists, question: "Is there a \(asked)?", answer: present.contains(asked) ? "yes" : "no"))
        return out
    }
}
