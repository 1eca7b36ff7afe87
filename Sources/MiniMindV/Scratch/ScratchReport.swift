// DIR/report.html of a from-scratch run: one self-contained page (images as data URIs, loss curves
// as inline SVG): accuracy per question type after SFT, with a blank image and after the pretrain
// stage, next to what always giving the most common answer scores; loss curves; stage times; test
// images with the model's answers.
import Foundation

public enum ScratchReport {
    public static func write(_ r: ScratchResult, title: String, introduction: String?, maxImages: Int = 48) throws {
        do { try Data(html(r, title: title, introduction: introduction, maxImages: maxImages).utf8).write(to: r.report, options: .atomic) } catch {
            throw ScratchError.io(path: r.report.path, reason: "cannot write the report: \(error.localizedDescription)")
        }
    }

    public static func html(_ r: ScratchResult, title: String, introduction: String?, maxImages: Int = 48) -> String {
        let s = r.settings
        var h = """
            <!doctype html><html><head><meta charset="utf-8"><title>\(HTMLText.escaped(title))</title><style>
            body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
            table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
            th{background:#f4f4f4}.ok{color:#178a2e}.bad{color:#c0262d;font-weight:bold}
            img.scene{width:96px;height:96px;image-rendering:pixelated;border:1px solid #999}
            .cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;padding:6px;width:250px}
            .card div{margin:2px 0}svg{background:#fff;border:1px solid #ddd;margin:4px}
            </style></head><body>
            <h1>\(HTMLText.escaped(title))</h1>
            <p>\(introduction ?? """
                A vision-language model trained from nothing on this data, in this order: BPE tokenizer, language model on \
                the text, contrastive vision encoder (then frozen), <b>pretrain recipe</b> (only the projector trains), \
                <b>SFT recipe</b> (projector + language model). The questions below are about test images the model never saw.
                """)</p>
            <p>Seed \(s.seed), vocabulary \(r.vocabSize), image \(r.imageSize)×\(r.imageSize) \
            in \(r.patchSize)-pixel patches, language model \(s.lmHidden) wide × \(s.lmLayers) layers, vision tower \(s.visionHidden) \
            wide × \(s.visionLayers) layers, \(r.positions) positions; steps <code>\(HTMLText.escaped(r.stepsFlag))</code>; \
            total \(String(format: "%.1f", r.totalSeconds)) s.</p>

            """
        if !r.budget.isEmpty {
            h += "<p>Time budget \(String(format: "%g", s.timeBudgetMinutes ?? 0)) min:</p><ul>"
            for line in r.budget { h += "<li>\(HTMLText.escaped(line))</li>" }
            h += "</ul>\n"
        }
        h += "<h2>Exact-match accuracy on unseen test images</h2>\n<table><tr><th>question type</th><th>questions</th>"
        h += "<th>after SFT</th><th>image blanked</th><th>after pretrain only</th><th>most common answer</th></tr>\n"
        for t in r.types {
            let n = r.evaluation?.runs.first?.typeScores.first { $0.type == t }?.scores.samples ?? 0
            h += "<tr><td>\(HTMLText.escaped(t))</td><td>\(n)</td><td>\(pct(r.accuracy(t, in: r.evaluation)))</td>"
            h += "<td>\(pct(r.accuracy(t, in: r.evaluation, run: EvalAblation.blank.runName)))</td>"
            h += "<td>\(pct(r.accuracy(t, in: r.pretrainOnly)))</td><td>\(pct(r.majorityShare(t)))</td></tr>\n"
        }
        h += "<tr><th>all</th><th>\(r.evaluation?.samples.count ?? 0)</th><th>\(pct(r.accuracy))</th><th>\(pct(r.blankAccuracy))</th>"
        h += "<th>\(pct(r.pretrainAccuracy))</th><th></th></tr></table>\n"
        if let c = r.captions, let run = c.runs.first {
            let exact = Double(zip(run.predictions, c.samples).filter { $0 == $1.references.first }.count) / Double(max(c.samples.count, 1))
            h += "<p>Captions (greedy) exactly right: \(pct(exact)) of \(c.samples.count) test images"
            if let cider = run.scores.ciderD { h += String(format: ", CIDEr-D %.3f", cider) }
            h += ".</p>\n"
        }
        h += "<p>“Image blanked” gives every question a blank image of the test images' mean colour instead of its own. When the "
        h += "model answers from the image, accuracy falls to about the most common answer's share; when it scores as well as "
        h += "with the image, the model ignores the image (Docs/Scratch.md says what to do).</p>\n"
        if let v = r.vision { h += "<p>Vision tower: \(HTMLText.escaped(v.label)): \(pct(v.value)).</p>\n" }

        h += "<h2>Loss curves</h2>\n"
        for stage in r.stages {
            h += LossCurveSVG.render(losses: stage.summary.losses, validation: stage.summary.validation, title: stage.name,
                                     width: 520, height: 220)
        }
        h += "<h2>Time per stage</h2><table><tr><th>stage</th><th>steps</th><th>seconds</th></tr>\n"
        for (stage, sec) in r.timings {
            let steps = r.stages.first { $0.name == stage }.map { "\($0.summary.steps)" } ?? ""
            h += "<tr><td>\(HTMLText.escaped(stage))</td><td>\(steps)</td><td>\(String(format: "%.1f", sec))</td></tr>\n"
        }
        h += "</table>\n<h2>Test images, questions and answers</h2><div class=\"cards\">\n"
        for card in cards(r).prefix(maxImages) {
            h += "<div class=\"card\"><img class=\"scene\" src=\"\(dataURI(card.image))\" title=\"\(HTMLText.escaped(card.name))\">"
            h += "<div><code>\(HTMLText.escaped(card.name))</code></div>"
            for line in card.lines {
                let mark = line.answer == line.expected ? "<span class=\"ok\">✓</span>"
                    : "<span class=\"bad\">✗ (expected \(HTMLText.escaped(line.expected)))</span>"
                h += "<div>\(HTMLText.escaped(line.question)) → <b>\(HTMLText.escaped(line.answer.isEmpty ? "(nothing)" : line.answer))</b> \(mark)</div>"
            }
            h += "</div>\n"
        }
        h += "</div>\n<p>Model folder: <code>\(HTMLText.escaped(r.modelFolder.path))</code> — try "
        h += "<code>minimind-v chat --model \(HTMLText.escaped(r.modelFolder.path)) --image IMAGE</code></p></body></html>\n"
        return h
    }

    struct Line { var question: String, expected: String, answer: String }
    struct Card { var name: String, image: PromptImage, lines: [Line] }

    /// Per test image: the caption question first, then its questions, with the model's answers.
    static func cards(_ r: ScratchResult) -> [Card] {
        var byKey: [String: Card] = [:], order: [String] = []
        func add(_ result: EvalResult?) {
            guard let result, let run = result.runs.first else { return }
            for (sample, answer) in zip(result.samples, run.predictions) {
                guard sample.images.count == 1 else { continue }
                let image = sample.images[0]
                let key: String
                if case .file(let url) = image { key = url.lastPathComponent } else { key = "image \(image.contentKey ?? 0)" }
                if byKey[key] == nil {
                    order.append(key)
                    byKey[key] = Card(name: key, image: image, lines: [])
                }
                byKey[key]?.lines.append(Line(question: sample.question, expected: sample.references.first ?? "", answer: answer))
            }
        }
        add(r.captions)
        add(r.evaluation)
        return order.compactMap { byKey[$0] }
    }

    /// The image as a PNG data URI (re-encoded, so any input format shows).
    static func dataURI(_ image: PromptImage) -> String {
        guard let picture = try? image.decoded(), let png = try? picture.pngData() else { return "" }
        return "data:image/png;base64," + png.base64EncodedString()
    }

    static func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", 100 * $0) } ?? "–" }
}
