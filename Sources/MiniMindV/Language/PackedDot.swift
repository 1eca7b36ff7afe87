import Foundation

/// Dot products of one packed weight row with a float32 vector, 16 lanes at a time (AVX2 + FMA with
/// the Makefile's `-target-cpu haswell`): the weights are widened to float32 in registers, so only
/// the packed bytes cross the memory bus.
enum PackedDot {
    typealias V = SIMD16<Float>

    /// Σ W[c]·x[c] over bfloat16 weights.
    @inline(__always)
    static func bf16(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) -> Float {
        let wr = UnsafeRawPointer(w), xr = UnsafeRawPointer(x)
        var a0 = V(repeating: 0), a1 = V(repeating: 0)
        var c = 0
        while c + 32 <= count {
            a0.addProduct(widen(wr.loadUnaligned(fromByteOffset: c * 2, as: SIMD16<UInt16>.self)),
                          xr.loadUnaligned(fromByteOffset: c * 4, as: V.self))
            a1.addProduct(widen(wr.loadUnaligned(fromByteOffset: c * 2 + 32, as: SIMD16<UInt16>.self)),
                          xr.loadUnaligned(fromByteOffset: c * 4 + 64, as: V.self))
            c += 32
        }
        var sum = (a0 + a1).sum()
        while c < count { sum += BFloat16Bits.float(w[c]) * x[c]; c += 1 }
        return sum
    }

    @inline(__always)
    private static func widen(_ b: SIMD16<UInt16>) -> V {
        unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: b) &<< 16, to: V.self)
    }

    /// Σ W[c]·x[c] over int8 weights in blocks of 32 with one scale each.
    @inline(__always)
    static func int8(_ w: UnsafePointer<Int8>, scales: UnsafePointer<Float>, _ x: UnsafePointer<Float>, blocks: Int) -> Float {
        let wr = UnsafeRawPointer(w), xr = UnsafeRawPointer(x)
        var acc = V(repeating: 0)
        for b in 0..<blocks {
            let o = b * 32
            var blockSum = V(repeating: 0)
            blockSum.addProduct(V(SIMD16<Int32>(truncatingIfNeeded: wr.loadUnaligned(fromByteOffset: o, as: SIMD16<Int8>.self))),
                                xr.loadUnaligned(fromByteOffset: o * 4, as: V.self))
            blockSum.addProduct(V(SIMD16<Int32>(truncatingIfNeeded: wr.loadUnaligned(fromByteOffset: o + 16, as: SIMD16<Int8>.self))),
                                xr.loadUnaligned(fromByteOffset: o * 4 + 64, as: V.self))
            acc.addProduct(blockSum, V(repeating: scales[b]))
        }
        return acc.sum()
    }
}
