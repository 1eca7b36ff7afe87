// The plain-text summary the demo command prints (and Docs/Demo.md quotes).
import Foundation
import MiniMindV

public enum DemoSummary {
    public static func text(_ r: DemoResult) -> String {
        let score = r.score, blank = r.blankScore, pre = r.pretrainScore
        func pct(_ x: Double) -> String { String(format: "%5.1f%%", 100 * x) }
        var s = "MiniMindV demo (seed \(r.settings.seed), \(r.settings.sizes.train) training images, "
        s += String(format: "%.1f s)\n", r.totalSeconds)
        s += "question type   after SFT   image blanked   pretrain only   chance\n"
        for t in DemoQuestionType.allCases {
            s += t.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
            s += "\(pct(score.accuracy(t)))      \(pct(blank.accuracy(t)))          \(pct(pre.accuracy(t)))          \(pct(t.chance))\n"
        }
        s += "all             \(pct(score.overall))      \(pct(blank.overall))          \(pct(pre.overall))\n"
        s += "captions exactly right: \(pct(r.captionAccuracy)) of \(r.captions?.samples.count ?? 0) test images\n"
        s += "stages: " + r.timings.map { "\($0.stage) " + String(format: "%.1f s", $0.seconds) }.joined(separator: ", ") + "\n"
        for stage in r.stages where stage.summary.seconds > 0 {
            s += String(format: "  %@: %d steps, %.1f steps/s\n", stage.name, stage.summary.steps,
                        Double(stage.summary.steps) / stage.summary.seconds)
        }
        s += "report: \(r.report.path)\nmodel:  \(r.modelFolder.path)\n"
        s += "try:    minimind-v chat --model \(r.modelFolder.path) --image \(r.output.path)/data/images/test-00000.png"
        return s
    }
}
