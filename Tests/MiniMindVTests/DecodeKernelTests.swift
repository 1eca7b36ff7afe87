import XCTest
import TestSupport
@testable import MiniMindV

/// The packed decode kernels (`DecodeKernel`): which one this CPU runs, and both the portable Swift
/// kernel and this machine's (the C AVX-512 one where the CPU has AVX-512) against a Double sum over
/// the dequantised weights, at shapes that hit every tail: row counts around the C kernel's four rows
/// per pass, bf16 lengths that are not multiples of 16 or 32, odd numbers of int8 blocks and int4
/// groups, 1 to 8 input rows, chunks that start at odd rows. (The model-level decode tests —
/// DecodeWeightsTests, DecodeLayerSwapTests, QuantizedWeightsTests — run `DecodeKernel.current`.)
final class DecodeKernelTests: XCTestCase {
    /// The kernels to check: the portable one always, this machine's when it is another.
    let kernels = Array(Set([DecodeKernel.portable, DecodeKernel.current])).sorted { $0.rawValue < $1.rawValue }

    func testKernelFollowsTheCPUFeaturesAndIsReported() {
        XCTAssertEqual(DecodeKernel.best(for: CPUFeatures()), .portable, "no features: the Swift kernel")
        var avx512 = CPUFeatures()
        (avx512.avx2, avx512.fma, avx512.avx512f, avx512.avx512bw, avx512.avx512dq, avx512.avx512vl) = (true, true, true, true, true, true)
        var noDQ = avx512
        noDQ.avx512dq = false
        XCTAssertEqual(DecodeKernel.best(for: noDQ), .portable, "AVX-512 without DQ")
        #if arch(x86_64)
        XCTAssertEqual(DecodeKernel.best(for: avx512), .avx512)
        // On this CPU: the C kernel exactly when it has AVX-512 F/BW/DQ/VL (the development Xeon does).
        XCTAssertEqual(DecodeKernel.current, CPUFeatures.current.avx512Core ? .avx512 : .portable)
        #else
        XCTAssertEqual(DecodeKernel.best(for: avx512), .portable, "the C kernels exist on x86-64 only")
        #endif
        XCTAssertEqual(ComputeReport.current.decodeKernel, DecodeKernel.current.rawValue)
        XCTAssertTrue(ComputeReport.current.summary.contains("decode kernel \(DecodeKernel.current.rawValue)"))
        print("decode kernel on this machine: \(DecodeKernel.current.rawValue)")
    }

    /// Random packed matrices: bf16 from floats, int8 and int4 from random integers over the whole
    /// range (int8 −128 included, which files may hold) with random positive scales.
    func matrix(_ dtype: DecodeDType, rows: Int, cols: Int, group: Int, seed: UInt64) -> PackedMatrix {
        var g = SplitMix64(state: seed)
        switch dtype {
        case .bf16:
            var gen = SeededGenerator(seed: seed)
            let w = Tensor.randn([rows, cols], generator: &gen).toArray()
            return w.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: rows, cols: cols, dtype: .bf16)! }
        case .int8, .int4:
            let bits = dtype == .int8 ? 8 : 4, span = 1 << bits
            let values = (0..<(rows * cols)).map { _ in g.below(span) - span / 2 }
            let scales = (0..<(rows * cols / group)).map { _ in Float(g.below(1000) + 1) / 1000 / Float(span) }
            return PackedMatrix(rows: rows, cols: cols, bits: bits, group: group, scales: scales) { values[$0] }
        case .f32:
            preconditionFailure("f32 is not packed")
        }
    }

    /// y = x·Wᵀ and y += x·Wᵀ through `kernel` against Σ in Double; float32 sums of `cols` products
    /// are held to 1e-5 of Σ|w·x|.
    func check(_ packed: PackedMatrix, m: Int, kernel: DecodeKernel, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let rows = packed.rows, cols = packed.cols
        var g = SeededGenerator(seed: UInt64(rows * 1000 + cols * 10 + m))
        let x = Tensor.randn([m, cols], generator: &g).toArray()
        let start = Tensor.randn([m, rows], generator: &g).toArray()
        let w = (0..<(rows * cols)).map { Double(packed.value(row: $0 / cols, col: $0 % cols)) }
        for accumulate in [false, true] {
            var y = start
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { packed.multiply(xb.baseAddress!, m: m, into: $0.baseAddress!, accumulate: accumulate, kernel: kernel) }
            }
            var worst = 0.0
            for i in 0..<m {
                for r in 0..<rows {
                    var sum = accumulate ? Double(start[i * rows + r]) : 0, magnitude = 0.0
                    for c in 0..<cols {
                        let p = w[r * cols + c] * Double(x[i * cols + c])
                        sum += p
                        magnitude += abs(p)
                    }
                    worst = Swift.max(worst, abs(Double(y[i * rows + r]) - sum) / (magnitude + 1))
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(kernel.rawValue) \(what) \(rows)×\(cols) m \(m) accumulate \(accumulate)", file: file, line: line)
        }
    }

    func testBF16AtOddShapes() {
        for kernel in kernels {
            for cols in [1, 7, 15, 16, 17, 31, 32, 33, 48, 63, 83, 130] {
                for rows in [1, 3, 4, 5, 8, 9] {
                    let packed = matrix(.bf16, rows: rows, cols: cols, group: 0, seed: UInt64(rows * 100 + cols))
                    for m in [1, 2, 8] { check(packed, m: m, kernel: kernel, "bf16") }
                }
            }
        }
    }

    /// The C bf16 kernel one weight row per pass (its choice for one-row products on AMD CPUs) and
    /// four: the same sums bit for bit (each row's chains and order do not depend on the rows beside
    /// it), both within 1e-5 of the Double sum; and the choice follows the vendor unless
    /// MINIMIND_DECODE_ROWS says.
    func testBF16OneRowPerPassEqualsFourBitForBit() throws {
        var amd = CPUFeatures()
        amd.isAMD = true
        XCTAssertEqual(DecodeKernel.weightRowsPerPass(for: amd, environment: [:]), 1)
        XCTAssertEqual(DecodeKernel.weightRowsPerPass(for: CPUFeatures(), environment: [:]), 4)
        XCTAssertEqual(DecodeKernel.weightRowsPerPass(for: amd, environment: ["MINIMIND_DECODE_ROWS": "4"]), 4)
        XCTAssertEqual(DecodeKernel.weightRowsPerPass(for: CPUFeatures(), environment: ["MINIMIND_DECODE_ROWS": "1"]), 1)
        XCTAssertEqual(DecodeKernel.weightRowsPerPass(for: amd, environment: ["MINIMIND_DECODE_ROWS": "3"]), 1)
        try XCTSkipUnless(DecodeKernel.current == .avx512, "the C kernels need AVX-512 F/BW/DQ/VL")
        for cols in [15, 33, 130, 512] {
            for rows in [1, 5, 9, 64] {
                let packed = matrix(.bf16, rows: rows, cols: cols, group: 0, seed: UInt64(rows * 7 + cols))
                for m in [1, 3] {
                    var g = SeededGenerator(seed: UInt64(rows + cols + m))
                    let x = Tensor.randn([m, cols], generator: &g).toArray()
                    var outputs: [[Float]] = []
                    for perPass in [1, 4] {
                        var y = [Float](repeating: 0, count: m * rows)
                        x.withUnsafeBufferPointer { xb in
                            y.withUnsafeMutableBufferPointer {
                                packed.multiply(xb.baseAddress!, m: m, into: $0.baseAddress!, accumulate: false,
                                                kernel: .avx512, rowsPerPass: perPass)
                            }
                        }
                        outputs.append(y)
                    }
                    XCTAssertEqual(outputs[0].map(\.bitPattern), outputs[1].map(\.bitPattern), "\(rows)×\(cols) m \(m)")
                }
                check(packed, m: 2, kernel: .avx512, "bf16 (rows per pass \(DecodeKernel.weightRowsPerPass(m: 2)))")
            }
        }
    }

    func testInt8BlocksAndPerChannelScalesAtOddShapes() {
        for kernel in kernels {
            for cols in [32, 96, 160] {
                for group in [32, cols] {
                    for rows in [1, 3, 4, 5, 9] {
                        let packed = matrix(.int8, rows: rows, cols: cols, group: group, seed: UInt64(rows * 100 + cols + group))
                        for m in [1, 3, 8] { check(packed, m: m, kernel: kernel, "int8 group \(group)") }
                    }
                }
            }
        }
    }

    func testInt4AtOddGroupCounts() {
        for kernel in kernels {
            for cols in [32, 64, 96, 224] {
                for rows in [1, 3, 4, 5, 9] {
                    let packed = matrix(.int4, rows: rows, cols: cols, group: 32, seed: UInt64(rows * 100 + cols))
                    for m in [1, 3, 8] { check(packed, m: m, kernel: kernel, "int4") }
                }
            }
        }
    }

    /// Two threads: 2,050 rows of 32 split into chunks of 1,025, so the second chunk starts at an odd
    /// row (the C kernel's passes of four rows restart at every chunk).
    func testChunksStartingAtOddRows() {
        let threads = Threads.count
        defer { Threads.set(threads) }
        Threads.set(2)
        for kernel in kernels {
            for dtype in [DecodeDType.bf16, .int8, .int4] {
                check(matrix(dtype, rows: 2050, cols: 32, group: 32, seed: 11), m: 2, kernel: kernel, "\(dtype) two chunks")
            }
        }
    }
}
