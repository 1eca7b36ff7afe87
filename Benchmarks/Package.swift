// swift-tools-version: 6.1
// Benchmarks of MiniMindV with ordo-one's package-benchmark. Not part of `make test`.
//   cd Benchmarks && swift build -c release              # builds the suites
//   cd Benchmarks && swift package benchmark             # runs them (time, throughput, mallocs)
import PackageDescription

let package = Package(
    name: "MiniMindVBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "MiniMindV", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "MiniMindV", package: "MiniMindV"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        .executableTarget(
            name: "ModelBenchmarks",
            dependencies: [
                .product(name: "MiniMindV", package: "MiniMindV"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/ModelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
        .executableTarget(
            name: "InputBenchmarks",
            dependencies: [
                .product(name: "MiniMindV", package: "MiniMindV"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/InputBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]),
    ],
    swiftLanguageModes: [.v5]
)
