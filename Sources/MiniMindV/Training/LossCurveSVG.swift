import Foundation

/// A small self-contained SVG line chart of a loss curve (no dependencies; opens in any browser),
/// with held-out losses as orange points at their steps when given.
public enum LossCurveSVG {
    public static func render(losses: [Double], validation: [ValidationPoint] = [], title: String = "loss",
                              width: Int = 640, height: Int = 360) -> String {
        let left = 60.0, right = 20.0, top = 36.0, bottom = 40.0
        let w = Double(width) - left - right, h = Double(height) - top - bottom
        let finite = (losses + validation.map(\.loss)).filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
        let n = max(losses.count, 2)
        func x(_ i: Int) -> Double { left + w * Double(i) / Double(n - 1) }
        func y(_ v: Double) -> Double { top + h * (1 - (v - lo) / (hi - lo)) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(left))" y="20" font-size="14">\(HTMLText.escaped(title)) (\(losses.count) steps)</text>

        """
        for k in 0...4 {
            let v = lo + (hi - lo) * Double(k) / 4, yy = y(v)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(left + w))\" y2=\"\(f(yy))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(String(format: "%.3f", v))</text>\n"
        }
        for k in 0...4 {
            let i = Int((Double(n - 1) * Double(k) / 4).rounded())
            svg += "<text x=\"\(f(x(i)))\" y=\"\(f(top + h + 16))\" text-anchor=\"middle\">\(i + 1)</text>\n"
        }
        svg += "<text x=\"\(f(left + w / 2))\" y=\"\(height - 6)\" text-anchor=\"middle\">optimizer step</text>\n"
        let points = losses.enumerated().filter { $0.element.isFinite }.map { "\(f(x($0.offset))),\(f(y($0.element)))" }
        if !points.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
        }
        for v in validation where v.loss.isFinite {
            svg += "<circle cx=\"\(f(x(v.step - 1)))\" cy=\"\(f(y(v.loss)))\" r=\"3\" fill=\"#e07a10\"/>\n"
        }
        if !validation.isEmpty {
            svg += "<text x=\"\(f(left + w))\" y=\"20\" text-anchor=\"end\" fill=\"#e07a10\">● validation loss</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }
}
