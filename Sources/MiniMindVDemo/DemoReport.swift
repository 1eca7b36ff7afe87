// Stage 8: a self-contained HTML page (images as PNG data URIs, loss curves as inline SVG).
import Foundation
import MiniMindV

enum DemoReport {
    static func write(_ r: DemoResult, images: URL, to url: URL, maxImages: Int = 48) throws {
        var h = """
            <!doctype html><html><head><meta charset="utf-8"><title>MiniMindV demo</title><style>
            body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
            table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
            th{background:#f4f4f4}.ok{color:#178a2e}.bad{color:#c0262d;font-weight:bold}
            img.scene{width:96px;height:96px;image-rendering:pixelated;border:1px solid #999}
            .cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;padding:6px;width:250px}
            .card div{margin:2px 0}svg{background:#fff;border:1px solid #ddd;margin:4px}
            </style></head><body>
            <h1>MiniMindV built-in demo</h1>
            <p>A tiny vision-language model trained from scratch on synthetic shapes, in this order: BPE tokenizer,
            language model on the text, CLIP-style vision encoder (then frozen), <b>pretrain recipe</b> (only the
            projector trains, on captions), <b>SFT recipe</b> (projector + language model, on questions and answers).
            All questions below are about test images the model never saw. Seed \(r.settings.seed),
            \(r.settings.sizes.train) training images, total \(String(format: "%.1f", r.totalSeconds)) s.</p>
            <h2>Exact-match accuracy on unseen test images</h2>
            <table><tr><th>question type</th><th>questions</th><th>after SFT</th><th>image blanked</th>
            <th>after pretrain only</th><th>chance</th></tr>

            """
        let score = r.score, blank = r.blankScore, pre = r.pretrainScore
        for t in DemoQuestionType.allCases {
            h += "<tr><td>\(t.rawValue)</td><td>\(score.total(t))</td><td>\(pct(score.accuracy(t)))</td>"
            h += "<td>\(pct(blank.accuracy(t)))</td><td>\(pct(pre.accuracy(t)))</td><td>\(pct(t.chance))</td></tr>\n"
        }
        h += "<tr><th>all</th><th>\(r.evaluation?.samples.count ?? 0)</th><th>\(pct(score.overall))</th><th>\(pct(blank.overall))</th>"
        h += "<th>\(pct(pre.overall))</th><th></th></tr></table>\n"
        h += "<p>Captions (“\(escape(DemoLanguage.describePrompt))”, greedy) exactly right: \(pct(r.captionAccuracy)) of "
        h += "\(r.captions?.samples.count ?? 0) test images.</p>\n"
        h += "<p>“Image blanked” gives every question a blank image of the test images' mean colour instead of its own: accuracy falls to about the "
        h += "share of the most common answer, so the answers above come from looking at the image. Vision tower (CLIP per cell): "
        h += "cells of unseen images whose nearest phrase is their own (225 phrases: 25 contents × 9 places): \(pct(r.cellAccuracy)).</p>\n"

        h += "<h2>Loss curves</h2>\n"
        for stage in r.stages {
            h += LossCurveSVG.render(losses: stage.summary.losses, validation: stage.summary.validation, title: stage.name,
                                     width: 520, height: 220)
        }

        h += "<h2>Time per stage</h2><table><tr><th>stage</th><th>seconds</th></tr>\n"
        for (stage, s) in r.timings { h += "<tr><td>\(escape(stage))</td><td>\(String(format: "%.1f", s))</td></tr>\n" }
        h += "</table>\n"

        h += "<h2>Test images, questions and answers</h2><div class=\"cards\">\n"
        for card in DemoCards.cards(r).prefix(maxImages) {
            let data = (try? Data(contentsOf: images.appendingPathComponent(card.image))) ?? Data()
            h += "<div class=\"card\"><img class=\"scene\" src=\"data:image/png;base64,\(data.base64EncodedString())\" title=\"\(escape(card.image))\">"
            h += "<div><code>\(escape(card.image))</code></div>"
            for line in card.lines {
                let mark = line.answer == line.expected ? "<span class=\"ok\">✓</span>"
                    : "<span class=\"bad\">✗ (expected \(escape(line.expected)))</span>"
                h += "<div>\(escape(line.question)) → <b>\(escape(line.answer.isEmpty ? "(nothing)" : line.answer))</b> \(mark)</div>"
            }
            h += "</div>\n"
        }
        h += "</div>\n<p>Model folder: <code>\(escape(r.modelFolder.path))</code> — try "
        h += "<code>minimind-v chat --model \(escape(r.modelFolder.path)) --image \(escape(images.path))/test-00000.png</code></p>"
        h += "</body></html>\n"
        do { try Data(h.utf8).write(to: url, options: .atomic) } catch {
            throw DemoError.io(path: url.path, reason: "cannot write the report: \(error.localizedDescription)")
        }
    }

    static func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// Per test image: the caption question first, then its questions, with the model's answers.
enum DemoCards {
    struct Line { var question: String, expected: String, answer: String }
    struct Card { var image: String, lines: [Line] }

    static func cards(_ r: DemoResult) -> [Card] {
        var byImage: [String: [Line]] = [:], order: [String] = []
        func add(_ result: EvalResult?) {
            guard let result, let run = result.runs.first else { return }
            for (sample, answer) in zip(result.samples, run.predictions) {
                guard sample.images.count == 1, case .file(let url) = sample.images[0] else { continue }
                let name = url.lastPathComponent
                if byImage[name] == nil { order.append(name) }
                byImage[name, default: []].append(Line(question: sample.question, expected: sample.references.first ?? "", answer: answer))
            }
        }
        add(r.captions)
        add(r.evaluation)
        return order.map { Card(image: $0, lines: byImage[$0] ?? []) }
    }
}
