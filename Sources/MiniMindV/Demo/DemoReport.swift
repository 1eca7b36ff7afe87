// Stage 8: a self-contained HTML page (images as PNG data URIs, loss curves as inline SVG).
import Foundation

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
            h += "<tr><td>\(t.rawValue)</td><td>\(score.total[t] ?? 0)</td><td>\(pct(score.accuracy(t)))</td>"
            h += "<td>\(pct(blank.accuracy(t)))</td><td>\(pct(pre.accuracy(t)))</td><td>\(pct(t.chance))</td></tr>\n"
        }
        h += "<tr><th>all</th><th>\(r.answers.count)</th><th>\(pct(score.overall))</th><th>\(pct(blank.overall))</th>"
        h += "<th>\(pct(pre.overall))</th><th></th></tr></table>\n"
        h += "<p>Captions (“\(escape(DemoLanguage.describePrompt))”, greedy) exactly right: \(pct(r.captionAccuracy)) of "
        h += "\(r.captions.count) test images.</p>\n"
        h += "<p>“Image blanked” gives every question the mean training image instead of its own: accuracy falls to about the "
        h += "share of the most common answer, so the answers above come from looking at the image. Vision tower (CLIP per cell): "
        h += "cells of unseen images whose nearest phrase is their own (225 phrases: 25 contents × 9 places): \(pct(r.cellAccuracy)).</p>\n"

        h += "<h2>Loss curves</h2>\n"
        for c in r.curves { h += svg(c) }

        h += "<h2>Time per stage</h2><table><tr><th>stage</th><th>seconds</th></tr>\n"
        for (stage, s) in r.timings { h += "<tr><td>\(escape(stage))</td><td>\(String(format: "%.1f", s))</td></tr>\n" }
        h += "</table>\n"

        h += "<h2>Test images, questions and answers</h2><div class=\"cards\">\n"
        var byImage: [String: [DemoAnswer]] = [:], order: [String] = []
        for a in r.answers {
            if byImage[a.image] == nil { order.append(a.image) }
            byImage[a.image, default: []].append(a)
        }
        let captions = Dictionary(r.captions.map { ($0.image, $0) }, uniquingKeysWith: { a, _ in a })
        for name in order.prefix(maxImages) {
            let data = (try? Data(contentsOf: images.appendingPathComponent(name))) ?? Data()
            h += "<div class=\"card\"><img class=\"scene\" src=\"data:image/png;base64,\(data.base64EncodedString())\" title=\"\(escape(name))\">"
            h += "<div><code>\(escape(name))</code></div>"
            if let c = captions[name] {
                let mark = c.correct ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗ (expected \(escape(c.expected)))</span>"
                h += "<div>\(escape(DemoLanguage.describePrompt)) → <b>\(escape(c.caption.isEmpty ? "(nothing)" : c.caption))</b> \(mark)</div>"
            }
            for a in byImage[name] ?? [] {
                let mark = a.correct ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗ (expected \(escape(a.expected)))</span>"
                h += "<div>\(escape(a.question)) → <b>\(escape(a.answer.isEmpty ? "(nothing)" : a.answer))</b> \(mark)</div>"
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

    /// A line chart of the training loss (blue, smoothed over a window) and validation points (orange).
    static func svg(_ c: DemoCurve, width: Double = 520, height: Double = 200) -> String {
        let left = 44.0, bottom = 24.0, top = 22.0, right = 10.0
        let n = c.losses.count
        guard n > 0 else { return "" }
        let window = max(1, n / 50)
        var smooth: [Double] = []
        for i in 0..<n {
            let lo = max(0, i - window + 1)
            smooth.append(Double(c.losses[lo...i].reduce(0, +)) / Double(i - lo + 1))
        }
        let all = smooth + c.validation.map { Double($0.loss) }
        let maxY = max(all.max() ?? 1, 1e-3) * 1.05, minY = 0.0
        func x(_ step: Double) -> Double { left + (width - left - right) * step / Double(max(n, 1)) }
        func y(_ v: Double) -> Double { top + (height - top - bottom) * (1 - (v - minY) / (maxY - minY)) }
        var s = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">"
        s += "<text x=\"\(left)\" y=\"14\" font-weight=\"bold\">\(escape(c.name)) — loss per step</text>"
        s += "<line x1=\"\(left)\" y1=\"\(y(minY))\" x2=\"\(width - right)\" y2=\"\(y(minY))\" stroke=\"#888\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(y(minY))\" stroke=\"#888\"/>"
        for k in 0...4 {
            let v = maxY * Double(k) / 4
            s += "<text x=\"4\" y=\"\(String(format: "%.1f", y(v) + 4))\">\(String(format: "%.2f", v))</text>"
        }
        s += "<text x=\"\(width - right - 60)\" y=\"\(height - 6)\">\(n) steps</text>"
        let points = smooth.enumerated().map { String(format: "%.1f,%.1f", x(Double($0.offset + 1)), y($0.element)) }
        s += "<polyline fill=\"none\" stroke=\"#2460c8\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>"
        for v in c.validation {
            s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#e07a10\"/>", x(Double(v.step)), y(Double(v.loss)))
        }
        if !c.validation.isEmpty {
            s += "<text x=\"\(width - right - 170)\" y=\"14\" fill=\"#e07a10\">● validation loss</text>"
        }
        return s + "</svg>\n"
    }
}
