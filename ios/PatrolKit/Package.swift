// swift-tools-version:5.9
// PatrolKit: the generated Swift bindings of the Rust core (patrol_core and
// patrol_protocol in one module), the core as an XCFramework, and the app's models
// (PatrolService and the screen models) on top. Run ../build-xcframework.sh first.
import PackageDescription

let package = Package(
    name: "PatrolKit",
    defaultLocalization: "zh-Hans",
    platforms: [.iOS(.v16)],
    products: [
        .library(name: "PatrolKit", targets: ["PatrolKit"]),
    ],
    targets: [
        .binaryTarget(name: "PatrolCoreFFI", path: "PatrolCoreFFI.xcframework"),
        .target(
            name: "PatrolKit",
            dependencies: ["PatrolCoreFFI"],
            path: "Sources/PatrolKit",
            // The core's SQLCipher encrypts with CommonCrypto, part of Security.framework;
            // a static library carries no link directives of its own.
            linkerSettings: [.linkedFramework("Security")]
        ),
        .testTarget(name: "PatrolKitTests", dependencies: ["PatrolKit"], path: "Tests/PatrolKitTests"),
    ]
)
