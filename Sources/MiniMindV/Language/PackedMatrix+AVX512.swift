#if arch(x86_64)
import CDecodeKernels
import MiniMindTensor

/// `PackedMatrix.multiply` with the C AVX-512 kernels (`DecodeKernel.avx512`): the same row split
/// across `Threads` as the portable path; each chunk is one C call over its rows.
extension PackedMatrix {
    func multiplyAVX512(_ x: UnsafePointer<Float>, m: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool, minChunk: Int,
                        rowsPerPass: Int) {
        let rows = self.rows, cols = self.cols, add: Int32 = accumulate ? 1 : 0
        switch storage {
        case .bf16(let w):
            let rowsPerPass = Int32(rowsPerPass)
            w.withUnsafeBufferPointer { wb in
                let wp = wb.baseAddress!
                Threads.parallelFor(rows, minChunk: minChunk) { range in
                    mm_decode_bf16_avx512(wp, x, y, cols, m, rows, range.lowerBound, range.upperBound, add, rowsPerPass)
                }
            }
        case .int8(let v, let s, let group):
            v.withUnsafeBufferPointer { vb in
                s.withUnsafeBufferPointer { sb in
                    let vp = vb.baseAddress!, sp = sb.baseAddress!
                    Threads.parallelFor(rows, minChunk: minChunk) { range in
                        mm_decode_int8_avx512(vp, sp, group, x, y, cols, m, rows, range.lowerBound, range.upperBound, add)
                    }
                }
            }
        case .int4(let w, let s):
            w.withUnsafeBufferPointer { wb in
                s.withUnsafeBufferPointer { sb in
                    let wp = wb.baseAddress!, sp = sb.baseAddress!
                    Threads.parallelFor(rows, minChunk: minChunk) { range in
                        mm_decode_int4_avx512(wp, sp, x, y, cols, m, rows, range.lowerBound, range.upperBound, add)
                    }
                }
            }
        }
    }
}
#endif
