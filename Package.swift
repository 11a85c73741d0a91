// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "hermes-runtime",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hermes-runtime", targets: ["hermes-runtime"]),
        .executable(name: "hermes-bench", targets: ["hermes-bench"]),
        .library(name: "HermesCore", targets: ["HermesCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // Already resolved through Hummingbird; named for NIOHTTPTypes (the front's connection guard).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // Pure logic: config, profiles, validation, routing policy, llama-server command building,
        // GGUF reading, memory-fit estimate, restart/backoff state machine. No HTTP, no processes, no GPU.
        .target(
            name: "HermesCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The Debian librocm-smi-dev headers and library (no pkg-config file exists).
        .systemLibrary(name: "CROCmSMI", path: "Sources/CROCmSMI"),
        // GPU memory probes: rocm_smi and the amdgpu sysfs fallback, APU pool logic, the report.
        .target(
            name: "HermesGPU",
            dependencies: ["CROCmSMI", "HermesCore", .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        // fork -> prctl(PR_SET_PDEATHSIG) -> setpgid -> execve: what neither Foundation nor swift-subprocess offers.
        .target(name: "CProcessSpawn", path: "Sources/CProcessSpawn"),
        // Processes, health, logs, state files: one supervisor per started local profile.
        .target(
            name: "HermesSupervisor",
            dependencies: [
                "HermesCore", "CProcessSpawn",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The OpenAI-compatible routing front: profile choice, burst, fallback, receipts, events, metrics.
        .target(
            name: "HermesFront",
            dependencies: [
                "HermesCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The prompt hash in events (BoringSSL's SHA-256; docs/benchmarks.md has the comparison).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // The daemon's wiring: ServiceGroup of supervisors, GPU monitor, front and the control API.
        .target(
            name: "HermesDaemon",
            dependencies: [
                "HermesCore", "HermesGPU", "HermesSupervisor", "HermesFront",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // One file per subcommand; parses and delegates.
        .target(
            name: "HermesCLI",
            dependencies: [
                "HermesCore", "HermesGPU", "HermesSupervisor", "HermesDaemon",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["BuildInfoPlugin"]
        ),
        // `--version`'s commit: a generated file, rewritten only when the commit changes.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .executableTarget(
            name: "hermes-runtime",
            dependencies: [
                "HermesCLI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks: each prints a table and writes its results (docs/benchmarks.md says how to run them).
        .executableTarget(
            name: "hermes-bench",
            dependencies: [
                "HermesCore", "HermesGPU", "HermesFront", "HermesSupervisor",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // Test support: finds the cached llama-server and model, fails naming the setup command.
        .target(
            name: "HermesTestSupport",
            dependencies: ["HermesCore"],
            path: "Tests/HermesTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HermesCoreTests",
            dependencies: ["HermesCore", "HermesTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HermesGPUTests",
            dependencies: ["HermesGPU", "HermesTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HermesSupervisorTests",
            dependencies: ["HermesSupervisor", "HermesTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HermesFrontTests",
            dependencies: [
                "HermesFront", "HermesTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HermesDaemonTests",
            dependencies: [
                "HermesDaemon", "HermesTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HermesCLITests",
            dependencies: ["HermesCore", "HermesTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)

// Coverage-guided fuzz targets (libFuzzer), one per reader of outside input: `scripts/fuzz.sh TARGET`.
// They exist only in the fuzz build (HERMES_FUZZ=1, its own scratch path, `-sanitize=fuzzer`), where
// libFuzzer supplies `main`; the ordinary build and the tests never see them. To add a target: a folder
// `Fuzz/<name>/` with one Swift file defining `@_cdecl("LLVMFuzzerTestOneInput")` and
// `@_cdecl("fuzz_<name>_main")` (see Fuzz/README.md), a `corpus/` of seeds, and a line below naming the
// modules it reads.
if Context.environment["HERMES_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("config", ["HermesCore"]),
        ("gguf", ["HermesCore"]),
        ("sysfs", ["HermesGPU"]),
        ("request", ["HermesCore"]),
        ("upstream", ["HermesCore"]),
        ("answer", ["HermesCore"]),
        ("sidecar", ["HermesCore"]),
        ("ledger", ["HermesCore"]),
        ("rpc", ["HermesCore"]),
    ]
    package.targets.append(.target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"))
    for t in fuzzTargets {
        package.targets.append(
            .executableTarget(name: "fuzz-\(t.name)", dependencies: t.dependencies + ["CFuzzDriver"], path: "Fuzz/\(t.name)",
                              exclude: ["corpus", "options", "dictionary"], swiftSettings: swiftSettings))
        package.products.append(.executable(name: "fuzz-\(t.name)", targets: ["fuzz-\(t.name)"]))
    }
}
