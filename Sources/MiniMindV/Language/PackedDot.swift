import Foundation

/// Dot products of one packed weight row with a float32 vector, 8 lanes at a time (AVX2 + FMA with
/// the Makefile's `-target-cpu haswell`). The weights are widened to float32 in registers with
/// shifts, masks and adds of whole words only — the stdlib's generic SIMD conversions
/// (`truncatingIfNeeded:`, `SIMD8<Float>(SIMD8<Int32>)`) compiled to out-of-line per-lane calls (10-15 %
/// of decode time in perf) — so `PackedMatrix` stores each group of values in the order these shifts
/// take them out (see `PackedLayout`). One accumulator per int8 block: with two, LLVM shuffled lanes
/// and ran 3× slower (standalone measurement).
enum PackedDot {
    typealias F = SIMD8<Float>
    typealias U = SIMD8<UInt32>
    typealias I = SIMD8<Int32>

    /// Σ W[c]·x[c] over bfloat16 weights in `PackedLayout.bf16` order.
    @inline(__always)
    static func bf16(_ w: UnsafePointer<UInt16>, _ x: UnsafePointer<Float>, count: Int) -> Float {
        let wr = UnsafeRawPointer(w), xr = UnsafeRawPointer(x)
        var a0 = F(repeating: 0), a1 = F(repeating: 0)
        let high = U(repeating: 0xFFFF_0000)
        var c = 0
        while c + 16 <= count {
            // Word j holds value j (low half) and value 8 + j (high half); a bf16 is a float's high half.
            let words = wr.loadUnaligned(fromByteOffset: c * 2, as: U.self)
            a0.addProduct(unsafeBitCast(words &<< 16, to: F.self), xr.loadUnaligned(fromByteOffset: c * 4, as: F.self))
            a1.addProduct(unsafeBitCast(words & high, to: F.self), xr.loadUnaligned(fromByteOffset: c * 4 + 32, as: F.self))
            c += 16
        }
        var sum = (a0 + a1).sum()
        while c < count { sum += BFloat16Bits.float(w[c]) * x[c]; c += 1 }
        return sum
    }

    /// Σ W[c]·x[c] over int8 weights in blocks of 32 (`PackedLayout.int8` order), one scale per
    /// `blocksPerScale` blocks (1: Q8_0-style decode copies; the row's block count: per output channel).
    @inline(__always)
    static func int8(_ w: UnsafePointer<Int8>, scales: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                     blocks: Int, blocksPerScale: Int) -> Float {
        let wr = UnsafeRawPointer(w), xr = UnsafeRawPointer(x)
        var acc = F(repeating: 0)
        var b = 0, g = 0
        while b < blocks {
            var s = F(repeating: 0)
            for o in stride(from: b * 32, to: (b + blocksPerScale) * 32, by: 32) {
                // Byte k of word j is value 8k + j: shift it to the top, arithmetic-shift it back down.
                let words = wr.loadUnaligned(fromByteOffset: o, as: I.self)
                s.addProduct(toFloat((words &<< 24) &>> 24), xr.loadUnaligned(fromByteOffset: o * 4, as: F.self))
                s.addProduct(toFloat((words &<< 16) &>> 24), xr.loadUnaligned(fromByteOffset: o * 4 + 32, as: F.self))
                s.addProduct(toFloat((words &<< 8) &>> 24), xr.loadUnaligned(fromByteOffset: o * 4 + 64, as: F.self))
                s.addProduct(toFloat(words &>> 24), xr.loadUnaligned(fromByteOffset: o * 4 + 96, as: F.self))
            }
            acc.addProduct(s, F(repeating: scales[g]))
            b += blocksPerScale
            g += 1
        }
        return acc.sum()
    }

    /// Σ W[c]·x[c] over int4 weights (`PackedLayout.int4` order: 8 words per 64 values, nibble k of
    /// word j = value 8k + j, stored as q + 8), one scale per group of 32. A group is dequantised in
    /// registers: mask a nibble, OR it into the mantissa of 2²³ and subtract 2²³ + 8.
    @inline(__always)
    static func int4(_ w: UnsafePointer<UInt32>, scales: UnsafePointer<Float>, _ x: UnsafePointer<Float>, groups: Int) -> Float {
        let wr = UnsafeRawPointer(w), xr = UnsafeRawPointer(x)
        let mask = U(repeating: 0xF)
        var acc = F(repeating: 0)
        var g = 0
        while g < groups {
            let words = wr.loadUnaligned(fromByteOffset: g / 2 * 32, as: U.self)
            let o = g * 128
            var s = F(repeating: 0)
            s.addProduct(nibbles(words & mask), xr.loadUnaligned(fromByteOffset: o, as: F.self))
            s.addProduct(nibbles((words &>> 4) & mask), xr.loadUnaligned(fromByteOffset: o + 32, as: F.self))
            s.addProduct(nibbles((words &>> 8) & mask), xr.loadUnaligned(fromByteOffset: o + 64, as: F.self))
            s.addProduct(nibbles((words &>> 12) & mask), xr.loadUnaligned(fromByteOffset: o + 96, as: F.self))
            acc.addProduct(s, F(repeating: scales[g]))
            // The pair's second group (a row of an odd number of groups ends without one).
            if g + 1 < groups {
                var t = F(repeating: 0)
                t.addProduct(nibbles((words &>> 16) & mask), xr.loadUnaligned(fromByteOffset: o + 128, as: F.self))
                t.addProduct(nibbles((words &>> 20) & mask), xr.loadUnaligned(fromByteOffset: o + 160, as: F.self))
                t.addProduct(nibbles((words &>> 24) & mask), xr.loadUnaligned(fromByteOffset: o + 192, as: F.self))
                t.addProduct(nibbles(words &>> 28), xr.loadUnaligned(fromByteOffset: o + 224, as: F.self))
                acc.addProduct(t, F(repeating: scales[g + 1]))
            }
            g += 2
        }
        return acc.sum()
    }

    /// Stored nibbles (0…15) as the floats q = nibble − 8.
    @inline(__always)
    private static func nibbles(_ v: U) -> F {
        unsafeBitCast(v | U(repeating: 0x4B00_0000), to: F.self) - F(repeating: 8_388_616)
    }

    /// Exact float of small integers (|v| < 2²²): v added to the mantissa of 1.5·2²³, minus 1.5·2²³.
    /// (`SIMD8<Float>(SIMD8<Int32>)` is a generic init that the full build leaves out of line.)
    @inline(__always)
    private static func toFloat(_ v: I) -> F {
        unsafeBitCast(v &+ I(repeating: 0x4B40_0000), to: F.self) - F(repeating: 12_582_912)
    }
}

/// Where value e of a group sits in `PackedMatrix`'s storage (the order `PackedDot` unpacks).
enum PackedLayout {
    /// bf16 groups of 16 (a row's last `cols % 16` values stay in order): word j = values j and 8 + j.
    static let bf16Group = 16
    static func bf16(_ e: Int) -> Int { 2 * (e % 8) + e / 8 }

    /// int8 blocks of 32: byte k of word j = value 8k + j.
    static func int8(_ e: Int) -> Int { 4 * (e % 8) + e / 8 }

    /// int4 pairs of groups, 64 values in 8 words: value c of a row is nibble k = (c % 64) / 8 of
    /// word (c / 64)·8 + c % 8. Returns the word index in the row and the bit shift.
    static func int4(_ c: Int) -> (word: Int, shift: Int) {
        let e = c % 64
        return (c / 64 * 8 + e % 8, 4 * (e / 8))
    }

    /// Storage index of value `c` of a row of `cols` values grouped by `group`.
    static func index(_ c: Int, cols: Int, group: Int, _ position: (Int) -> Int) -> Int {
        let g = c / group * group
        return g + group <= cols ? g + position(c - g) : c
    }
}
