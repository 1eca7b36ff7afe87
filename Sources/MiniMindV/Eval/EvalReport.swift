// report.html: metric and per-type tables (real vs ablations) and sample cards with the image,
// question, references, answer and right/wrong. Self-contained (images as data URIs).
import Foundation

enum EvalReport {
    static let maxCards = 200
    static let maxImageBytes = 1 << 20

    static func html(_ r: EvalResult, source: [(key: String, value: String)]) -> String {
        var h = """
            <!doctype html><html><head><meta charset="utf-8"><title>MiniMindV evaluation</title><style>
            body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
            table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
            th{background:#f4f4f4}.ok{color:#178a2e}.bad{color:#c0262d;font-weight:bold}.abl{color:#777;font-size:12px}
            .cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #ddd;padding:6px;width:270px}
            .card img{min-width:96px;max-width:256px;max-height:256px;image-rendering:pixelated;border:1px solid #999}.card div{margin:2px 0}
            </style></head><body><h1>MiniMindV evaluation</h1>

            """
        h += "<p>" + source.map { "\(HTMLText.escaped($0.key)): <code>\(HTMLText.escaped($0.value))</code>" }.joined(separator: " · ")
        h += "<br>task <b>\(r.task.rawValue)</b>, \(r.samples.count) samples, \(r.skipped.count) left out, greedy, batch \(r.batchSize), "
        h += String(format: "%.1f samples/s", r.samplesPerSecond) + "</p>\n"

        h += "<h2>Metrics</h2><table><tr><th>metric</th>" + r.runs.map { "<th>\(HTMLText.escaped(label($0.name)))</th>" }.joined() + "</tr>\n"
        for (name, value) in metricRows(r.task) {
            let cells = r.runs.map { value($0.scores) }
            guard cells.contains(where: { $0 != nil }) else { continue }
            h += "<tr><td>\(name)</td>" + cells.map { "<td>\($0.map(format) ?? "")</td>" }.joined() + "</tr>\n"
        }
        h += "</table>\n"
        if r.runs.count > 1 {
            h += "<p>“Blank image” gives every question one image of the set's mean colour; “shuffled images” gives each question "
            h += "another sample's image. A model that answers from its image falls towards chance in both; one that ignores it scores the same.</p>\n"
        }

        let headline = r.task == .caption ? "CIDEr-D" : "accuracy"
        h += "<h2>Per type</h2><table><tr><th>type</th><th>samples</th>"
        h += r.runs.map { "<th>\(headline) (\(HTMLText.escaped(label($0.name))))</th>" }.joined()
        if r.runs[0].scores.perplexity != nil { h += r.runs.map { "<th>perplexity (\(HTMLText.escaped(label($0.name))))</th>" }.joined() }
        h += "</tr>\n"
        for (g, t) in r.runs[0].typeScores.enumerated() {
            h += "<tr><td>\(HTMLText.escaped(t.type))</td><td>\(t.scores.samples)</td>"
            h += r.runs.map { "<td>\($0.typeScores[g].scores.headline(r.task).map(format) ?? "")</td>" }.joined()
            if r.runs[0].scores.perplexity != nil {
                h += r.runs.map { "<td>\($0.typeScores[g].scores.perplexity.map { String(format: "%.3f", $0) } ?? "")</td>" }.joined()
            }
            h += "</tr>\n"
        }
        h += "</table>\n"

        h += "<h2>Samples</h2><p>The first \(min(maxCards, r.samples.count)) of \(r.samples.count).</p><div class=\"cards\">\n"
        for (i, s) in r.samples.prefix(maxCards).enumerated() {
            h += "<div class=\"card\">"
            if let image = s.images.first { h += imageTag(image) }
            h += "<div>\(HTMLText.escaped(s.question))</div><div class=\"abl\">reference: \(HTMLText.escaped(s.references.joined(separator: " | ")))</div>"
            let answer = r.runs[0].predictions[i]
            h += "<div>→ <b>\(HTMLText.escaped(answer.isEmpty ? "(nothing)" : answer))</b> "
            if let correct = r.runs[0].correct { h += correct[i] ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗</span>" }
            h += "</div>"
            for run in r.runs.dropFirst() { h += "<div class=\"abl\">\(HTMLText.escaped(label(run.name))): \(HTMLText.escaped(run.predictions[i]))</div>" }
            h += "<div class=\"abl\">\(HTMLText.escaped(s.type)) · \(HTMLText.escaped(s.id))</div></div>\n"
        }
        h += "</div>\n"
        if !r.skipped.isEmpty {
            h += "<h2>Left out</h2><ul>" + r.skipped.prefix(50).map { "<li>\(HTMLText.escaped($0))</li>" }.joined() + "</ul>\n"
        }
        return h + "</body></html>\n"
    }

    static func label(_ run: String) -> String {
        switch run {
        case "real": return "own image"
        case "blank": return "blank image"
        case "shuffled": return "shuffled images"
        default: return run
        }
    }

    static func metricRows(_ task: EvalTask) -> [(String, (EvalScores) -> Double?)] {
        [("exact-match accuracy", { $0.accuracy }), ("VQA accuracy", { $0.vqaAccuracy }),
         ("BLEU-1", { $0.bleu?[0] }), ("BLEU-2", { $0.bleu?[1] }), ("BLEU-3", { $0.bleu?[2] }), ("BLEU-4", { $0.bleu?[3] }),
         ("CIDEr-D", { $0.ciderD }), ("ROUGE-L", { $0.rougeL }), ("perplexity", { $0.perplexity })]
    }

    static func format(_ x: Double) -> String { String(format: "%.4f", x) }

    /// The image as a data URI (PNG, JPEG, GIF, BMP, WebP by their signatures), or a note.
    static func imageTag(_ image: PromptImage) -> String {
        let data: Data?
        switch image {
        case .file(let url): data = try? Data(contentsOf: url)
        case .encoded(let d): data = d
        case .image(let picture): data = try? picture.pngData()
        case .pixels, .features: data = nil
        }
        guard let data, data.count <= maxImageBytes else { return "<div class=\"abl\">(image not shown)</div>" }
        let b = [UInt8](data.prefix(12))
        let mime: String
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { mime = "image/png" }
        else if b.starts(with: [0xFF, 0xD8]) { mime = "image/jpeg" }
        else if b.starts(with: [0x47, 0x49, 0x46]) { mime = "image/gif" }
        else if b.starts(with: [0x42, 0x4D]) { mime = "image/bmp" }
        else if b.count >= 12 && b[8...11].elementsEqual([0x57, 0x45, 0x42, 0x50]) { mime = "image/webp" }
        else { return "<div class=\"abl\">(image format not shown)</div>" }
        return "<img src=\"data:\(mime);base64,\(data.base64EncodedString())\"><br>"
    }
}
