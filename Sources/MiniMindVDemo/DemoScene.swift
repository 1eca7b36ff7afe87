// The synthetic world of the built-in demo: one to three coloured shapes, each in its own cell of a
// 3×3 grid, on a tinted background. Cells are the vision patches (a 48×48 image with 16-pixel
// patches): each image token sees one whole cell, so "where" questions have a crisp answer and
// the tiny tower can learn shapes quickly.
import Foundation
import MiniMindV

public enum DemoShape: String, CaseIterable, Codable, Sendable {
    case circle, square, triangle, cross
}

public enum DemoColour: String, CaseIterable, Codable, Sendable {
    case red, green, blue, yellow, purple, orange

    /// Saturated RGB, far from the greyish backgrounds and from each other.
    var rgb: SIMD3<Float> {
        switch self {
        case .red: return [215, 35, 35]
        case .green: return [30, 160, 55]
        case .blue: return [35, 75, 225]
        case .yellow: return [235, 210, 30]
        case .purple: return [140, 50, 180]
        case .orange: return [245, 135, 20]
        }
    }
}

/// Grid cells in reading order.
public enum DemoPosition: Int, CaseIterable, Codable, Sendable {
    case topLeft, topMiddle, topRight, middleLeft, centre, middleRight, bottomLeft, bottomMiddle, bottomRight

    public static let grid = 3

    /// One word per cell (one token in the demo's BPE), so the place word of a question is itself
    /// the query that finds its cell; two-word places ("top left") need a second hop to combine
    /// the words first, which the 2-layer model seldom learned (Docs/Demo.md).
    public var phrase: String {
        switch self {
        case .topLeft: return "northwest"
        case .topMiddle: return "north"
        case .topRight: return "northeast"
        case .middleLeft: return "west"
        case .centre: return "centre"
        case .middleRight: return "east"
        case .bottomLeft: return "southwest"
        case .bottomMiddle: return "south"
        case .bottomRight: return "southeast"
        }
    }
}

public struct DemoObject: Codable, Equatable, Sendable {
    public var shape: DemoShape
    public var colour: DemoColour
    public var position: DemoPosition
    /// Centre and half-size in pixels (inside the object's cell).
    public var centerX: Float, centerY: Float, radius: Float
}

public struct DemoScene: Codable, Equatable, Sendable {
    public var objects: [DemoObject]  // sorted by position
    public var background: [Float]  // RGB

    /// A random scene: 1–3 objects in distinct cells, random sizes and jitter inside the cell.
    public static func random(imageSize: Int, generator g: inout SeededGenerator) -> DemoScene {
        let count = 1 + Int(g.next() % 3)
        var cells = DemoPosition.allCases
        cells.shuffle(using: &g)
        let cell = Float(imageSize) / Float(DemoPosition.grid)
        var objects: [DemoObject] = []
        for position in cells.prefix(count).sorted(by: { $0.rawValue < $1.rawValue }) {
            // 5.3–6.6 px in a 16-pixel cell, centred within ±1.5 px: a tiny tower learns shapes
            // quickly when they sit where its patch sees them whole (more jitter needs far more steps).
            let radius = cell * (0.33 + 0.08 * g.nextUniform())
            let x0 = Float(position.rawValue % DemoPosition.grid) * cell, y0 = Float(position.rawValue / DemoPosition.grid) * cell
            let slack = min(3, max(0, cell - 2 * radius - 1))
            objects.append(DemoObject(shape: DemoShape.allCases[Int(g.next() % 4)],
                                      colour: DemoColour.allCases[Int(g.next() % 6)], position: position,
                                      centerX: x0 + cell / 2 + slack * (g.nextUniform() - 0.5),
                                      centerY: y0 + cell / 2 + slack * (g.nextUniform() - 0.5), radius: radius))
        }
        // Light or dark grey, slightly tinted: never as saturated as a shape.
        let dark = g.nextUniform() < 0.3
        let base: Float = dark ? 30 + 40 * g.nextUniform() : 170 + 70 * g.nextUniform()
        let background = (0..<3).map { _ in min(255, max(0, base + 24 * (g.nextUniform() - 0.5))) }
        return DemoScene(objects: objects, background: background)
    }

    /// Rasterises with 4×4 supersampling and a little per-pixel noise (seeded by `noiseSeed`).
    public func render(size: Int, noiseSeed: UInt64) throws -> RGBImage {
        var g = SeededGenerator(seed: noiseSeed)
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        let bg = SIMD3<Float>(background[0], background[1], background[2])
        for y in 0..<size {
            for x in 0..<size {
                var acc = SIMD3<Float>(repeating: 0)
                for sy in 0..<4 {
                    for sx in 0..<4 {
                        let px = Float(x) + (Float(sx) + 0.5) / 4, py = Float(y) + (Float(sy) + 0.5) / 4
                        var c = bg
                        for o in objects where o.contains(px, py) { c = o.colour.rgb }
                        acc += c
                    }
                }
                let noise = 10 * (g.nextUniform() - 0.5)
                let v = acc / 16 + noise
                let i = (y * size + x) * 3
                pixels[i] = UInt8(max(0, min(255, v.x.rounded())))
                pixels[i + 1] = UInt8(max(0, min(255, v.y.rounded())))
                pixels[i + 2] = UInt8(max(0, min(255, v.z.rounded())))
            }
        }
        return try RGBImage(width: size, height: size, pixels: pixels)
    }
}

extension DemoObject {
    func contains(_ x: Float, _ y: Float) -> Bool {
        let dx = x - centerX, dy = y - centerY, r = radius
        switch shape {
        case .circle: return dx * dx + dy * dy <= r * r
        case .square: return abs(dx) <= r * 0.85 && abs(dy) <= r * 0.85
        case .triangle:  // apex up, base at the bottom
            guard dy >= -r && dy <= r * 0.8 else { return false }
            let t = (dy + r) / (1.8 * r)  // 0 at apex, 1 at base
            return abs(dx) <= t * r
        case .cross:
            let arm = r * 0.36
            return (abs(dx) <= arm && abs(dy) <= r) || (abs(dy) <= arm && abs(dx) <= r)
        }
    }
}
