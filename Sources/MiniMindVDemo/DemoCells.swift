// Stage 4's classes: CLIP-style pretraining of the tiny vision tower per region
// (`RegionContrastiveObjective`). Each image token sees one cell of the 3×3 grid, and the language
// model later asks about cells, so the contrast is made per cell: a cell against every cell phrase
// ("northwest circle red", …, "centre nothing": the caption's own pieces). An image-level contrast
// of mean-pooled features was tried first: it let colours and places identify a scene and left
// shapes poorly separated per cell. Only the tower is kept, then frozen.
import Foundation

/// What a grid cell shows, and where: one of the 24 (colour, shape) pairs or nothing, in one of the
/// 9 places. The place is part of the phrase so that each image token says where it is: the
/// language model then finds "the northwest" by content instead of by counting positions.
public enum DemoCell {
    public static let contents = DemoColour.allCases.count * DemoShape.allCases.count + 1
    public static let empty = contents - 1
    public static let count = contents * DemoPosition.allCases.count

    public static func content(_ object: DemoObject) -> Int {
        (DemoColour.allCases.firstIndex(of: object.colour) ?? 0) * DemoShape.allCases.count
            + (DemoShape.allCases.firstIndex(of: object.shape) ?? 0)
    }

    /// Per cell of the scene, in reading order (= image token order).
    public static func labels(_ scene: DemoScene) -> [Int] {
        var out = DemoPosition.allCases.map { $0.rawValue * contents + empty }
        for o in scene.objects { out[o.position.rawValue] = o.position.rawValue * contents + content(o) }
        return out
    }

    /// The text of each cell class, in index order: "northwest circle red", …, "centre nothing".
    public static var phrases: [String] {
        DemoPosition.allCases.flatMap { p in
            DemoColour.allCases.flatMap { c in
                DemoShape.allCases.map { DemoLanguage.piece(p, $0, c) }
            } + ["\(p.phrase) nothing"]
        }
    }
}

