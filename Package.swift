// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "MiniMindV",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MiniMindV", targets: ["MiniMindV"]),
        .executable(name: "minimind-v", targets: ["minimind-v"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The HTTP server (`serve`) only: MiniMindV itself stays free of these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS",
                       providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CSpinWait", path: "Sources/CSpinWait"),
        .systemLibrary(name: "CCPUID", path: "Sources/CCPUID"),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"]), .brew(["open-mpi"])]),
        .systemLibrary(name: "CStb", path: "Sources/CStb", providers: [.apt(["libstb-dev"])]),
        .systemLibrary(name: "CSnappy", path: "Sources/CSnappy", providers: [.apt(["libsnappy-dev"]), .brew(["snappy"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        // AVX-512 kernels chosen at run time: the packed decode weights' products (`DecodeKernel`) and the frozen
        // encoder's softmax and activations (`EncoderInference`); empty off x86-64.
        .target(name: "CDecodeKernels", path: "Sources/CDecodeKernels"),

        .target(name: "MiniMindTensor",
                // Linux links the Debian system libraries; Apple platforms use Accelerate for BLAS.
                dependencies: ["CSpinWait", "CCPUID", "CDecodeKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                               .target(name: "CDNNL", condition: .when(platforms: [.linux]))]),
        .target(name: "MiniMindFormats", dependencies: ["MiniMindTensor", "CSnappy", "CZstd"]),
        .target(name: "MiniMindTokenizer", dependencies: []),
        .target(name: "MiniMindV", dependencies: ["MiniMindTensor", "MiniMindFormats", "MiniMindTokenizer", "CStb", "CDecodeKernels"]),
        // `minimind-v bench`: speed and accuracy measurements on MiniMindV's public API only.
        .target(name: "MiniMindVBench", dependencies: [
            "MiniMindV",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),  // `bench serve`'s clients
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "MiniMindVServer", dependencies: [
            "MiniMindV", "MiniMindTokenizer",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Data-parallel training on Open MPI (Docs/Distributed.md): only this target links MPI.
        .target(name: "MiniMindVMPI", dependencies: ["MiniMindV", "CMPI"]),
        // The built-in demo, on MiniMindV's public API only.
        .target(name: "MiniMindVDemo", dependencies: ["MiniMindV"]),
        .executableTarget(name: "minimind-v", dependencies: [
            "MiniMindV", "MiniMindVBench", "MiniMindVServer", "MiniMindVMPI", "MiniMindVDemo", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared by the test targets: the one NaN- and length-aware comparison and the fuzzers' seeded generator.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MiniMindTensorTests", dependencies: ["MiniMindTensor", "TestSupport"]),
        .testTarget(name: "MiniMindFormatsTests", dependencies: ["MiniMindFormats", "TestSupport"]),
        .testTarget(name: "MiniMindTokenizerTests", dependencies: ["MiniMindTokenizer"]),
        .testTarget(name: "MiniMindVTests", dependencies: ["MiniMindV", "MiniMindVDemo", "TestSupport"]),
        .testTarget(name: "MiniMindVDemoTests", dependencies: ["MiniMindVDemo", "MiniMindV"]),
        .testTarget(name: "MiniMindVServerTests", dependencies: [
            "MiniMindVServer", "MiniMindVBench", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "ExampleSupport", dependencies: ["MiniMindV"], path: "Examples/Support"),
        .executableTarget(name: "PretrainProjector", dependencies: ["MiniMindV", "ExampleSupport"], path: "Examples/PretrainProjector"),
        .executableTarget(name: "SFTExample", dependencies: ["MiniMindV", "ExampleSupport"], path: "Examples/SFT"),
        // README.md's ```swift blocks, extracted at build time: a stale README snippet fails the build.
        .executableTarget(name: "ReadmeSnippets", dependencies: ["MiniMindV"], path: "Examples/ReadmeSnippets",
                          plugins: ["ReadmeSnippetsPlugin"]),
        .executableTarget(name: "ReadmeSnippetsTool", path: "Plugins/ReadmeSnippetsTool"),
        .plugin(name: "ReadmeSnippetsPlugin", capability: .buildTool(), dependencies: ["ReadmeSnippetsTool"]),
    ],
    swiftLanguageModes: [.v5]
)
