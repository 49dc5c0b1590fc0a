// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Lookalike",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lookalike", targets: ["lookalike"]),
    ],
    // The PostgreSQL store pulls in SwiftNIO and BoringSSL; a build without it (`--disable-default-traits`, which
    // the ThreadSanitizer run uses) serves SQLite only.
    traits: [
        .trait(name: "PostgreSQL", description: "The PostgreSQL store (postgres-nio), for nodes sharing one database"),
        .default(enabledTraits: ["PostgreSQL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C libraries, found through pkg-config. Only their wrapper targets import them.
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CWebP", pkgConfig: "libwebpdemux", providers: [.apt(["libwebp-dev"])]),
        .systemLibrary(name: "CGIF", pkgConfig: "libgif", providers: [.apt(["libgif-dev"])]),
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),
        .systemLibrary(name: "CHeif", pkgConfig: "libheif", providers: [.apt(["libheif-dev"])]),
        // No pkg-config here: libavif.pc adds a -D flag SwiftPM refuses; the module map links libavif.
        .systemLibrary(name: "CAVIF", providers: [.apt(["libavif-dev"])]),
        .systemLibrary(name: "CLCMS2", pkgConfig: "lcms2", providers: [.apt(["liblcms2-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // HTTP's vocabulary (status, method, an error's status): what the lower modules need to say how their
        // errors reach a client, without depending on the server.
        .target(name: "HTTPCore", swiftSettings: swiftSettings),
        .target(name: "Imaging", dependencies: ["CTurboJPEG", "CPNG", "CWebP", "CGIF", "CTIFF", "CHeif", "CAVIF", "CLCMS2", "CZlib", "HTTPCore"], swiftSettings: swiftSettings),
        // The CNN's hot loops in C: portable, and AVX2 + FMA through per-function target attributes.
        .target(name: "CKernels"),
        .target(name: "Inference", dependencies: ["COpenBLAS", "CKernels", "HTTPCore"], swiftSettings: swiftSettings),
        .target(name: "HTTPServer", dependencies: ["HTTPCore", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
                swiftSettings: swiftSettings),
        // The browser page: the files in Assets/, compiled in by the EmbedWebAssets build plugin.
        .target(
            name: "WebPage", dependencies: ["HTTPCore", "HTTPServer"], exclude: ["Assets"], swiftSettings: swiftSettings,
            plugins: ["EmbedWebAssets"]),
        .executableTarget(name: "EmbedWebAssetsTool", swiftSettings: swiftSettings),
        .plugin(name: "EmbedWebAssets", capability: .buildTool(), dependencies: ["EmbedWebAssetsTool"]),
        .target(name: "Storage", dependencies: ["CSQLite", "HTTPCore"], swiftSettings: swiftSettings),
        // The same storage seam on a PostgreSQL server, for several nodes sharing one database.
        .target(
            name: "PostgresStorage",
            dependencies: [
                "Storage", "HTTPCore",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(name: "MetadataFilter", swiftSettings: swiftSettings),
        // HTTP(S) GETs for import jobs (libcurl), within limits and a network policy checked at every connection.
        .target(name: "RemoteFetch", dependencies: ["CCurl"], swiftSettings: swiftSettings),
        // The compressed index's inner products in C: portable, and AVX2 through per-function target attributes.
        .target(name: "CVectorKernels"),
        .target(name: "VectorIndex", dependencies: ["COpenBLAS", "CVectorKernels", "MetadataFilter"], swiftSettings: swiftSettings),
        .target(
            name: "Lookalike",
            dependencies: ["HTTPCore", "Imaging", "Inference", "MetadataFilter", "Storage", "PostgresStorage", "VectorIndex", "RemoteFetch",
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: swiftSettings),
        .target(
            name: "LookalikeAPI",
            dependencies: ["Lookalike", "HTTPCore", "HTTPServer", "Imaging", "MetadataFilter", "WebPage", .product(name: "Logging", package: "swift-log"),
                           .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lookalike",
            dependencies: [
                "Lookalike", "LookalikeAPI", "HTTPServer", "Imaging", "Inference", "MetadataFilter", "Storage", "VectorIndex",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Fuzz entry points (scripts/fuzz), and the replay tool that runs saved inputs through them.
        .target(name: "FuzzTargets", dependencies: ["HTTPCore", "HTTPServer", "Imaging", "Inference", "Storage"],
                swiftSettings: swiftSettings),
        .executableTarget(name: "lookalike-fuzz", dependencies: ["FuzzTargets"], swiftSettings: swiftSettings),

        // Child process for the storage crash-safety test.
        .executableTarget(name: "storage-stress", dependencies: ["Storage"], swiftSettings: swiftSettings),

        .target(
            name: "TestSupport",
            dependencies: ["Imaging", "VectorIndex", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                           .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["PostgreSQL"])),
                           .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["PostgreSQL"])),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "Imaging", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FuzzTargetTests", dependencies: ["FuzzTargets"], resources: [.copy("Corpus")],
            swiftSettings: swiftSettings),
        .testTarget(name: "WebPageTests", dependencies: ["WebPage", "HTTPCore"], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "PostgresStorage", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex", "MetadataFilter", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "MetadataFilterTests", dependencies: ["MetadataFilter"], swiftSettings: swiftSettings),
        .testTarget(name: "RemoteFetchTests", dependencies: ["RemoteFetch", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LookalikeTests", dependencies: ["Lookalike", "Storage", "PostgresStorage", "Inference", "Imaging", "VectorIndex", "TestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "CLITests", dependencies: ["lookalike", "TestSupport", "Imaging", "Inference", "Storage"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LookalikeAPITests",
            dependencies: ["LookalikeAPI", "Lookalike", "HTTPCore", "HTTPServer", "TestSupport", "Imaging", "Inference", "Storage", "WebPage",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
    ],
    swiftLanguageModes: [.v6]
)
