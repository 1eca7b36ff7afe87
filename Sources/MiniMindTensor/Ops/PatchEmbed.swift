import Foundation

/// A convolution whose stride equals its kernel (ViT patch embedding), as im2col + one GEMM.
///
/// pixels [N, C, H, W], weight [O, C, P, P] (PyTorch Conv2d layout), bias [O] → [N, (H/P)·(W/P), O].
/// Tokens are in row-major order over the patch grid, i.e. PyTorch's `conv(x).flatten(2).transpose(1, 2)`.
/// Like PyTorch, trailing rows/columns that do not fill a whole patch are ignored.
/// Gradients flow to weight and bias through `linear`, and to pixels through the im2col backward.
public func patchEmbed(pixels: Tensor, weight: Tensor, bias: Tensor? = nil, patch: Int) -> Tensor {
    precondition(weight.rank == 4 && weight.shape[2] == patch && weight.shape[3] == patch,
                 "patchEmbed: weight must be [O, C, \(patch), \(patch)], got \(weight.shape)")
    precondition(pixels.rank == 4 && pixels.shape[1] == weight.shape[1],
                 "patchEmbed: pixels \(pixels.shape) must be [N, \(weight.shape[1]), H, W] for weight \(weight.shape)")
    let columns = patchColumns(pixels, patch: patch)
    let flatWeight = weight.reshaped([weight.shape[0], weight.shape[1] * patch * patch])
    return linear(columns, weight: flatWeight, bias: bias)
}

/// im2col for non-overlapping patches: [N, C, H, W] → [N, (H/P)·(W/P), C·P·P], each row one patch
/// flattened in (channel, row, column) order, matching a Conv2d weight flattened to [O, C·P·P].
public func patchColumns(_ pixels: Tensor, patch p: Int) -> Tensor {
    precondition(pixels.rank == 4, "patchColumns: pixels must be [N, C, H, W], got \(pixels.shape)")
    precondition(p > 0 && pixels.shape[2] >= p && pixels.shape[3] >= p,
                 "patchColumns: patch \(p) does not fit pixels \(pixels.shape)")
    let n = pixels.shape[0], c = pixels.shape[1], h = pixels.shape[2], w = pixels.shape[3]
    let gh = h / p, gw = w / p, width = c * p * p
    let out = Tensor.uninitialized([n, gh * gw, width])
    PatchKernel.copy(pixels.mutablePointer, out.mutablePointer, n: n, c: c, h: h, w: w, p: p, toColumns: true)
    return Tensor.record("patchColumns", output: out, inputs: [pixels]) { g in
        let gp = Tensor.zeros(pixels.shape)  // uncovered edge pixels get zero gradient
        PatchKernel.copy(gp.mutablePointer, UnsafeMutablePointer(mutating: g.pointer), n: n, c: c, h: h, w: w, p: p,
                         toColumns: false)
        return [gp]
    }
}

enum PatchKernel {
    /// Moves rows of P contiguous pixels between the image and its patch columns (either direction);
    /// the mapping is one-to-one, so the backward is the same walk in reverse.
    static func copy(_ image: UnsafeMutablePointer<Float>, _ columns: UnsafeMutablePointer<Float>,
                     n: Int, c: Int, h: Int, w: Int, p: Int, toColumns: Bool) {
        let gh = h / p, gw = w / p, width = c * p * p
        Threads.parallelFor(n * gh, minChunk: Swift.max(1, 16_384 / Swift.max(gw * width, 1))) { range in
            for job in range {
                let img = job / gh, gy = job % gh
                for gx in 0..<gw {
                    let col = columns + ((img * gh + gy) * gw + gx) * width
                    for ch in 0..<c {
                        for ky in 0..<p {
                            let src = image + ((img * c + ch) * h + gy * p + ky) * w + gx * p
                            let dst = col + (ch * p + ky) * p
                            if toColumns { dst.update(from: src, count: p) } else { src.update(from: dst, count: p) }
                        }
                    }
                }
            }
        }
    }
}
