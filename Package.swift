// swift-tools-version: 6.0
import PackageDescription

let package = Package(
  name: "Kaze",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "kazed", targets: ["kazed"]),
    .executable(name: "kaze", targets: ["kaze"]),
    .executable(name: "kaze-bench", targets: ["kaze-bench"]),
    .executable(name: "kaze-fence", targets: ["kaze-fence"]),
  ],
  dependencies: [
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(
      url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
  ],
  targets: [
    .target(name: "KazeModel"),
    .target(
      name: "QMP",
      dependencies: [
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "Hypervisor",
      dependencies: ["KazeModel", "QMP", .product(name: "Logging", package: "swift-log")]),
    .target(name: "Storage", dependencies: ["KazeModel"]),
    .target(name: "Networking", dependencies: ["KazeModel"]),
    .target(
      name: "ClusterStore",
      dependencies: [
        "KazeModel", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOFoundationCompat", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(name: "Scheduler", dependencies: ["KazeModel"]),
    .target(name: "Fencing"),
    .executableTarget(name: "kaze-fence", dependencies: ["Fencing"]),
    .target(
      name: "ControlPlane",
      dependencies: [
        "KazeModel", "ClusterStore", "Scheduler", .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "NodeAgent",
      dependencies: [
        "KazeModel", "ClusterStore", "Fencing", "Hypervisor", "Storage", "Networking",
        .product(name: "Logging", package: "swift-log"),
      ]),
    .target(
      name: "APIServer",
      dependencies: [
        "KazeModel", "ClusterStore", "ControlPlane", "Networking", "Scheduler", "Storage",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      resources: [.copy("openapi.yaml"), .copy("Web")]),
    .target(name: "KazeClient", dependencies: ["KazeModel"]),
    .target(
      name: "KazeCLI",
      dependencies: [
        "KazeClient", "KazeModel",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "kazed",
      dependencies: [
        "KazeModel", "ClusterStore", "ControlPlane", "NodeAgent", "APIServer", "Hypervisor",
        "Storage", "Networking", "Scheduler",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]),
    .executableTarget(name: "kaze", dependencies: ["KazeCLI"]),
    .executableTarget(
      name: "kaze-bench",
      dependencies: [
        "KazeClient", "KazeModel", "KazeTestSupport", "QMP", "Scheduler", "Hypervisor", "Storage",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .testTarget(name: "KazeModelTests", dependencies: ["KazeModel"]),
    .testTarget(name: "QMPTests", dependencies: ["QMP"]),
    .testTarget(
      name: "HypervisorTests",
      dependencies: [
        "Hypervisor", "KazeModel", "Storage", "KazeTestSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      resources: [.copy("Golden")]),
    .testTarget(name: "StorageTests", dependencies: ["Storage", "KazeModel"]),
    .target(name: "KazeTestSupport", dependencies: ["KazeModel"], path: "Tests/KazeTestSupport"),
    .testTarget(
      name: "ClusterStoreTests", dependencies: ["ClusterStore", "KazeModel", "KazeTestSupport"]),
    .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "KazeModel"]),
    .testTarget(name: "FencingTests", dependencies: ["Fencing", "KazeModel", "KazeTestSupport"]),
    .testTarget(
      name: "NodeAgentTests",
      dependencies: [
        "NodeAgent", "Fencing", "KazeModel", "KazeTestSupport", "Networking",
        .product(name: "Logging", package: "swift-log"),
      ]),
    .testTarget(
      name: "APIServerTests",
      dependencies: [
        "APIServer", "ClusterStore", "ControlPlane", "KazeModel", "Storage",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
      ]),
    .testTarget(
      name: "IntegrationTests",
      dependencies: [
        "KazeClient", "KazeModel", "KazeCLI", "KazeTestSupport",
        .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
        .product(name: "NIOWebSocket", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      // The browser check the web UI test runs (Python, selenium, Debian's chromium).
      exclude: ["Web/ui_check.py"]),
  ],
  swiftLanguageModes: [.v6]
)
