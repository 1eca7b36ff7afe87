import Foundation

/// Pillow's resampling filters; `rawValue` is PIL's `Image.Resampling` number, as stored in
/// `preprocessor_config.json` under `resample`. NEAREST (0) is not offered: Pillow implements it as an
/// affine transform, not with these kernels.
public enum ResampleFilter: Int, Sendable, CaseIterable, CustomStringConvertible {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5

    public var description: String {
        switch self {
        case .lanczos: return "lanczos"
        case .bilinear: return "bilinear"
        case .bicubic: return "bicubic"
        case .box: return "box"
        case .hamming: return "hamming"
        }
    }

    /// Half-width of the kernel at scale 1 (Pillow's `filter.support`).
    var support: Double {
        switch self {
        case .box: return 0.5
        case .bilinear, .hamming: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    /// The kernel, written with the same operations and constants as Pillow's Resample.c so the
    /// doubles (and therefore the fixed-point taps) come out identical.
    func weight(_ t: Double) -> Double {
        switch self {
        case .box:
            return (t > -0.5 && t <= 0.5) ? 1 : 0
        case .bilinear:
            let x = t < 0 ? -t : t
            return x < 1 ? 1 - x : 0
        case .hamming:
            var x = t < 0 ? -t : t
            if x == 0 { return 1 }
            if x >= 1 { return 0 }
            x = x * Double.pi
            // Pillow writes 0.54f and 0.46f: single-precision constants promoted to double.
            return sin(x) / x * (Double(Float(0.54)) + Double(Float(0.46)) * cos(x))
        case .bicubic:
            let a = -0.5
            let x = t < 0 ? -t : t
            if x < 1 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos:
            if -3.0 <= t && t < 3.0 { return Self.sinc(t) * Self.sinc(t / 3) }
            return 0
        }
    }

    private static func sinc(_ t: Double) -> Double {
        if t == 0 { return 1 }
        let x = t * Double.pi
        return sin(x) / x
    }
}
