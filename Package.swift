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
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS",
                       providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CSpinWait", path: "Sources/CSpinWait"),
        .systemLibrary(name: "CCPUID", path: "Sources/CCPUID"),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CStb", path: "Sources/CStb", providers: [.apt(["libstb-dev"])]),
        .systemLibrary(name: "CSnappy", path: "Sources/CSnappy", providers: [.apt(["libsnappy-dev"]), .brew(["snappy"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),

        .target(name: "MiniMindTensor",
                // Linux links the Debian system libraries; Apple platforms use Accelerate for BLAS.
                dependencies: ["CSpinWait", "CCPUID", .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                               .target(name: "CDNNL", condition: .when(platforms: [.linux]))]),
        .target(name: "MiniMindFormats", dependencies: ["MiniMindTensor", "CSnappy", "CZstd"]),
        .target(name: "MiniMindTokenizer", dependencies: []),
        .target(name: "MiniMindV", dependencies: ["MiniMindTensor", "MiniMindFormats", "MiniMindTokenizer", "CStb"]),
        .executableTarget(name: "minimind-v", dependencies: [
            "MiniMindV", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "MiniMindTensorTests", dependencies: ["MiniMindTensor"]),
        .testTarget(name: "MiniMindFormatsTests", dependencies: ["MiniMindFormats"]),
        .testTarget(name: "MiniMindTokenizerTests", dependencies: ["MiniMindTokenizer"]),
        .testTarget(name: "MiniMindVTests", dependencies: ["MiniMindV"]),
        .target(name: "ExampleSupport", dependencies: ["MiniMindV"], path: "Examples/Support"),
        .executableTarget(name: "PretrainProjector", dependencies: ["MiniMindV", "ExampleSupport"], path: "Examples/PretrainProjector"),
        .executableTarget(name: "SFTExample", dependencies: ["MiniMindV", "ExampleSupport"], path: "Examples/SFT"),
    ],
    swiftLanguageModes: [.v5]
)
