import Foundation

/// Which OpenBLAS kernel set ("core") runs, chosen by the CPU's features at the tensor library's
/// first use. OpenBLAS picks its kernels from a table of CPU models; a model newer than its table
/// (Debian 12's 0.3.21 on Sapphire Rapids and later Xeons) falls back to the SSE3 "Prescott" kernels,
/// 4–6× slower. When its pick is weaker than the features allow, the library re-runs OpenBLAS's
/// initialisation with `OPENBLAS_CORETYPE` naming the best core (measured in Docs/Performance.md).
///
/// Who decides, in order:
/// 1. `MINIMIND_BLAS_CORE=NAME` forces OpenBLAS core NAME; `MINIMIND_BLAS_CORE=keep` leaves
///    OpenBLAS's own pick. This variable is only ever set by someone choosing for this program.
/// 2. `OPENBLAS_CORETYPE` (which OpenBLAS read when it loaded) is kept when it is not weaker than the
///    features allow. A weaker one is replaced: the variable is read by every OpenBLAS program, and
///    images and job systems set it for other machines or programs, so its presence alone does not
///    show a choice made for this one. The report says when this happened; use rule 1 to insist.
/// 3. Otherwise OpenBLAS's own pick is upgraded when weaker than the features allow.
///
/// OpenBLAS is reached through `dlsym`, so the package still links against another CBLAS, where
/// the selection reports `isOpenBLAS == false` and changes nothing.
public struct BLASKernelSelection: Sendable {
    /// Why the running core is the running core.
    public enum Source: String, Sendable {
        case notOpenBLAS = "not OpenBLAS: no kernel selection"
        case detected = "OpenBLAS's own detection (as strong as the CPU features allow)"
        case upgraded = "switched from OpenBLAS's detection by CPU features"
        case openBLASCoreType = "OPENBLAS_CORETYPE"
        case openBLASCoreTypeReplaced = "OPENBLAS_CORETYPE replaced: weaker than the CPU features allow (set MINIMIND_BLAS_CORE to force a core)"
        case minimindBLASCore = "MINIMIND_BLAS_CORE"
        case failed = "switch failed: OpenBLAS kept its detection"
    }

    public let isOpenBLAS: Bool
    /// `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64".
    public let config: String?
    /// The core OpenBLAS picked on its own (or from `OPENBLAS_CORETYPE`) when it loaded.
    public let detectedCore: String?
    /// The core that runs now.
    public let core: String?
    /// The best core the CPU's features allow, by this library's table.
    public let bestCore: String?
    public let source: Source
    public let features: CPUFeatures

    /// Done once, at the first use of `Threads` (before any BLAS call and before our workers exist).
    public static let current: BLASKernelSelection = select(environment: ProcessInfo.processInfo.environment)

    /// The library's version from its config string ("0.3.21"), when it is OpenBLAS.
    public var version: String? {
        guard let config else { return nil }
        let words = config.split(separator: " ")
        guard words.count > 1, words[0] == "OpenBLAS" else { return nil }
        return String(words[1])
    }

    // MARK: ranking

    /// The GEMM instruction level of an OpenBLAS x86-64 core: 0 SSE-only, 1 AVX, 2 AVX2+FMA,
    /// 3 AVX-512, 4 AVX-512 with bf16. Unknown names (other architectures' cores) rank nil.
    public static func rank(ofCore name: String) -> Int? {
        switch name.lowercased() {
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return 1
        case "haswell", "zen", "excavator": return 2
        case "skylakex": return 3
        case "cooperlake", "sapphirerapids": return 4
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "athlon", "opteron",
             "opteron_sse3", "barcelona", "nano", "bobcat", "katmai", "coppermine", "northwood", "banias":
            return 0
        default: return nil
        }
    }

    /// Cores to try for these features, best first (all present in OpenBLAS since 0.3.10).
    public static func candidates(for f: CPUFeatures) -> [String] {
        var list: [String] = []
        if f.avx512Core && f.avx512bf16 { list.append("Cooperlake") }
        if f.avx512Core { list.append("SkylakeX") }
        if f.avx2 && f.fma { list.append("Haswell") }
        return list
    }

    /// True when `core` is at least as strong as the best core `features` allow.
    public static func isAtLeastBest(_ core: String, features: CPUFeatures) -> Bool {
        guard let best = candidates(for: features).first, let bestRank = rank(ofCore: best) else { return true }
        guard let r = rank(ofCore: core) else { return true }  // a core this table does not rank: leave it
        return r >= bestRank
    }

    // MARK: selection

    static func select(environment env: [String: String]) -> BLASKernelSelection {
        let features = CPUFeatures.current
        let best = candidates(for: features).first
        guard let ob = OpenBLASSymbols.load() else {
            return BLASKernelSelection(isOpenBLAS: false, config: nil, detectedCore: nil, core: nil, bestCore: best,
                                       source: .notOpenBLAS, features: features)
        }
        let detected = ob.coreName()
        func result(_ source: Source) -> BLASKernelSelection {
            BLASKernelSelection(isOpenBLAS: true, config: ob.config(), detectedCore: detected, core: ob.coreName(),
                                bestCore: best, source: source, features: features)
        }
        if let forced = env["MINIMIND_BLAS_CORE"], !forced.isEmpty {
            if forced.lowercased() != "keep" { ob.reinitialise(coreType: forced, environment: env) }
            return result(.minimindBLASCore)
        }
        let fromVariable = env["OPENBLAS_CORETYPE"].map { !$0.isEmpty } ?? false
        if isAtLeastBest(detected, features: features) { return result(fromVariable ? .openBLASCoreType : .detected) }
        for name in candidates(for: features) {
            ob.reinitialise(coreType: name, environment: env)
            if ob.coreName().lowercased() == name.lowercased() {
                return result(fromVariable ? .openBLASCoreTypeReplaced : .upgraded)
            }
        }
        ob.reinitialise(coreType: env["OPENBLAS_CORETYPE"], environment: env)
        return result(.failed)
    }
}

/// The OpenBLAS entry points the selection needs, looked up at run time.
struct OpenBLASSymbols {
    typealias StringFn = @convention(c) () -> UnsafePointer<CChar>?
    typealias VoidFn = @convention(c) () -> Void
    let getCoreName: StringFn, getConfig: StringFn, dynamicQuit: VoidFn?, dynamicInit: VoidFn?

    static func load() -> OpenBLASSymbols? {
        let handle = dlopen(nil, RTLD_NOW)
        func symbol<T>(_ name: String, as: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: T.self) }
        }
        guard let core = symbol("openblas_get_corename", as: StringFn.self),
              let config = symbol("openblas_get_config", as: StringFn.self) else { return nil }
        return OpenBLASSymbols(getCoreName: core, getConfig: config,
                               dynamicQuit: symbol("gotoblas_dynamic_quit", as: VoidFn.self),
                               dynamicInit: symbol("gotoblas_dynamic_init", as: VoidFn.self))
    }

    func coreName() -> String { getCoreName().map { String(cString: $0) } ?? "unknown" }
    func config() -> String? { getConfig().map { String(cString: $0) } }

    /// Re-runs OpenBLAS's kernel choice with `OPENBLAS_CORETYPE` = `coreType` (nil: its own detection),
    /// then puts the variable back as it was so child processes inherit the user's environment.
    /// Only before other threads call BLAS: the kernel table is swapped under them otherwise.
    func reinitialise(coreType: String?, environment env: [String: String]) {
        guard let dynamicQuit, let dynamicInit else { return }  // a build for one CPU: nothing to switch
        if let coreType { setenv("OPENBLAS_CORETYPE", coreType, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        dynamicQuit()
        dynamicInit()
        if let previous = env["OPENBLAS_CORETYPE"] { setenv("OPENBLAS_CORETYPE", previous, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
    }
}
