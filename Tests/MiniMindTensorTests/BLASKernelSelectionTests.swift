import Foundation
import XCTest
@testable import MiniMindTensor

/// The kernel core OpenBLAS runs after the tensor library's first use, and the GEMM results of the
/// different cores. References: the Linux kernel's CPU flags (/proc/cpuinfo) for the features, and
/// a float64 product for the GEMM.
final class BLASKernelSelectionTests: XCTestCase {
    /// The features read with CPUID agree with the flags the kernel reports (it too clears the ones
    /// whose registers it does not save).
    func testCPUFeaturesMatchTheKernelsFlags() throws {
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("/proc/cpuinfo has no flags line on this architecture")
        }
        let flags = Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
        let ours = Set(CPUFeatures.current.names)
        let tracked = ["avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni", "avx512_bf16",
                       "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"]
        for name in tracked { XCTAssertEqual(ours.contains(name), flags.contains(name), name) }
    }

    func testSelectedCoreIsNotWeakerThanTheFeaturesAllow() throws {
        _ = Threads.count  // first use: the selection runs here if no other test ran first
        let s = BLASKernelSelection.current
        guard s.isOpenBLAS, let core = s.core else { throw XCTSkip("the linked BLAS is not OpenBLAS") }
        if let forced = ProcessInfo.processInfo.environment["MINIMIND_BLAS_CORE"], !forced.isEmpty {
            XCTAssertEqual(s.source, .minimindBLASCore)
            if forced.lowercased() != "keep" { XCTAssertEqual(core.lowercased(), forced.lowercased()) }
            return
        }
        XCTAssertTrue(BLASKernelSelection.isAtLeastBest(core, features: s.features),
                      "core \(core) is weaker than \(s.bestCore ?? "-") that \(s.features.names) allow")
        if let best = s.bestCore { XCTAssertEqual(BLASKernelSelection.rank(ofCore: core), BLASKernelSelection.rank(ofCore: best)) }
    }

    func testRanking() {
        var f = CPUFeatures()
        XCTAssertEqual(BLASKernelSelection.candidates(for: f), [])
        f.avx2 = true; f.fma = true
        XCTAssertEqual(BLASKernelSelection.candidates(for: f), ["Haswell"])
        XCTAssertFalse(BLASKernelSelection.isAtLeastBest("Prescott", features: f))
        XCTAssertTrue(BLASKernelSelection.isAtLeastBest("Zen", features: f))
        f.avx512f = true; f.avx512bw = true; f.avx512dq = true; f.avx512vl = true
        XCTAssertEqual(BLASKernelSelection.candidates(for: f).first, "SkylakeX")
        XCTAssertFalse(BLASKernelSelection.isAtLeastBest("Haswell", features: f))
        f.avx512bf16 = true
        XCTAssertEqual(BLASKernelSelection.candidates(for: f), ["Cooperlake", "SkylakeX", "Haswell"])
        XCTAssertTrue(BLASKernelSelection.isAtLeastBest("cooperlake", features: f))
        XCTAssertTrue(BLASKernelSelection.isAtLeastBest("ARMV8", features: f))  // not ranked: left alone
    }

    /// Every core this CPU can run gives the float64 product within float32 summation tolerance, so
    /// switching kernels changes speed, not results.
    func testGEMMAgreesWhicheverCoreRuns() throws {
        _ = Threads.count
        let s = BLASKernelSelection.current
        guard s.isOpenBLAS, let running = s.core, let ob = OpenBLASSymbols.load(), ob.dynamicInit != nil else {
            throw XCTSkip("the linked BLAS is not a dynamic-architecture OpenBLAS")
        }
        let env = ProcessInfo.processInfo.environment
        defer { ob.reinitialise(coreType: running, environment: env) }
        let (m, n, k) = (67, 131, 300)
        var rng = SeededGenerator(seed: 7)
        let a = (0..<(k * m)).map { _ in rng.nextUniform() * 2 - 1 }  // stored [K,M]: transA
        let b = (0..<(n * k)).map { _ in rng.nextUniform() * 2 - 1 }  // stored [N,K]: transB
        var reference = [Double](repeating: 0, count: m * n), bound = reference
        for i in 0..<m { for j in 0..<n { for p in 0..<k {
            let x = Double(a[p * m + i]) * Double(b[j * k + p])
            reference[i * n + j] += x; bound[i * n + j] += abs(x)
        } } }
        var cores = ["Prescott"] + BLASKernelSelection.candidates(for: s.features)
        if !cores.contains(where: { $0.lowercased() == running.lowercased() }) { cores.append(running) }
        for core in cores {
            ob.reinitialise(coreType: core, environment: env)
            XCTAssertEqual(ob.coreName().lowercased(), core.lowercased())
            var c = [Float](repeating: .nan, count: m * n)
            BLAS.rawSgemm(transA: true, transB: true, m: m, n: n, k: k, a: a, b: b, c: &c)
            for i in 0..<(m * n) {
                let tolerance = Double(k) * Double(Float.ulpOfOne) * bound[i]
                XCTAssertLessThanOrEqual(abs(Double(c[i]) - reference[i]), tolerance, "\(core) element \(i)")
            }
        }
    }
}
