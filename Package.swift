// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "OmenDB",
    products: [
        // One archive holds the core and its C ABI: the PostgreSQL extension links exactly this.
        .library(name: "LearnedIndex", type: .static, targets: ["LearnedIndex", "LearnedIndexC"]),
        .executable(name: "learned-bench", targets: ["learned-bench"]),
        .executable(name: "omendb", targets: ["omendb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.65.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
    ],
    targets: [
        .target(name: "LearnedIndex"),
        // The C ABI's header, imported so that the ABI switches on its enums by name.
        .systemLibrary(name: "COmenABI"),
        .target(
            name: "LearnedIndexC",
            dependencies: ["LearnedIndex", "COmenABI"],
            exclude: ["include"]
        ),
        .target(name: "OmenEngine", dependencies: ["LearnedIndex"]),
        // `omendb serve`: PostgreSQL's wire protocol in front of the engine.
        .target(
            name: "OmenServer",
            dependencies: [
                "OmenEngine", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(name: "Datasets"),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CEditLine", providers: [.apt(["libedit-dev"])]),
        .executableTarget(
            name: "omendb",
            dependencies: ["OmenEngine", "OmenServer", "CSQLite", "CEditLine", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "learned-bench",
            dependencies: [
                "LearnedIndex", "Datasets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "benchmarks/learned-bench"
        ),
        .testTarget(name: "LearnedIndexTests", dependencies: ["LearnedIndex", "Datasets"]),
        .testTarget(name: "OmenEngineTests", dependencies: ["OmenEngine", "CSQLite"]),
    ]
)
