import APIServer
import ClusterStore
import ControlPlane
import Foundation
import Hummingbird
import Hypervisor
import KazeModel
import Logging
import Networking
import NodeAgent
import ServiceLifecycle
import Storage

/// Builds one node from its settings: opens the store (the only place a backend is chosen),
/// probes the accelerator, prepares the pool, and returns the services to run.
struct NodeBootstrap {
  let settings: Settings
  let logger: Logger

  struct RunningNode {
    let services: [any Service]
    let logger: Logger

    /// Runs until SIGTERM/SIGINT. Shutdown is graceful for at most 5 s (open console streams
    /// are then cancelled); VMs keep running either way.
    func run() async throws {
      var configuration = ServiceGroupConfiguration(
        services: services.map { .init(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
      configuration.maximumGracefulShutdownDuration = .seconds(5)
      configuration.maximumCancellationDuration = .seconds(5)
      try await ServiceGroup(configuration: configuration).run()
    }
  }

  func start() async throws -> RunningNode {
    let dataDir = URL(
      fileURLWithPath: settings.dataDir,
      relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    ).standardizedFileURL.path
    try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    let store = try openStore(dataDir: dataDir)
    var pools = [
      DirectoryPool(name: "local", kind: "dir", root: "\(dataDir)/pools/local"),
      // Local disk too, but each disk here has a synchronous copy on a second node.
      DirectoryPool(
        name: Replication.poolName, kind: "replicated", root: "\(dataDir)/pools/replicated"),
    ]
    if let shared = settings.sharedPool {
      pools.append(DirectoryPool(name: "shared", kind: "shared", root: shared))
    }
    let storagePools = StoragePools(pools)
    try storagePools.prepare()

    let probeKernel = settings.probeKernel
    let accelerator = try await runBlocking {
      AcceleratorProbe.choose(requested: settings.accel, probeKernel: probeKernel)
    }
    logger.info(
      "accelerator: \(accelerator.accelerator.rawValue)",
      metadata: ["reason": "\(accelerator.reason)"])

    let name = settings.resolvedNodeName
    let advertise = settings.advertise ?? settings.listen
    let config = NodeConfiguration(
      name: name, address: advertise, dataDirectory: dataDir, accelerator: accelerator,
      pools: storagePools, leaseTTL: .seconds(settings.leaseTtl),
      shutdownTimeout: .seconds(settings.shutdownTimeout), selfFencing: settings.selfFencing,
      watchdogDevice: settings.watchdogDevice, watchdogTimeout: settings.watchdogTimeout)
    var node = Node(
      name: name, address: advertise, cpus: ProcessInfo.processInfo.activeProcessorCount,
      memoryMiB: Int(ProcessInfo.processInfo.physicalMemory / 1_048_576),
      accelerator: accelerator.accelerator, acceleratorReason: accelerator.reason,
      qemuVersion: Self.qemuVersion(), hostCPU: Self.hostCPU(), pools: storagePools.infos,
      labels: settings.labels)
    node.cpuModels = CPUModels.available()
    node.bridges = HostBridges.list()
    let registered = node

    let agent = NodeAgent(config: config, store: store, logger: logger)
    let controlPlane = ControlPlane(
      store: store, nodeName: name, leaseTTL: .seconds(settings.leaseTtl),
      policy: settings.placementPolicy, logger: logger)
    let environment = APIEnvironment(
      repository: Repository(store: store), nodeName: name,
      imageLibrary: ImageLibrary(pool: storagePools.images),
      runFiles: { vm in config.runFiles(for: vm) }, policy: settings.placementPolicy,
      metrics: agent.metrics)
    let listen = settings.listen
    let app = KazeAPI.buildApplication(
      environment: environment, host: settings.host, port: settings.port, logger: logger
    ) { port in
      let host = listen.split(separator: ":").dropLast().joined(separator: ":")
      FileHandle.standardOutput.write(
        Data("kazed \(name) is serving the API on http://\(host):\(port)/api/v1\n".utf8))
    }
    return RunningNode(
      services: [
        StoreService(store: store),
        BackgroundService { try await agent.run(node: registered) },
        BackgroundService { await controlPlane.run() },
        app,
      ], logger: logger)
  }

  /// The one place a store backend is chosen.
  func openStore(dataDir: String) throws -> any ClusterStore {
    if settings.store == "sqlite" {
      return try SQLiteClusterStore(
        path: "\(dataDir)/store/kaze.sqlite",
        options: .init(leaseCheckInterval: .milliseconds(250)), logger: logger)
    }
    return try EtcdClusterStore(
      endpoints: try EtcdClusterStore.endpoints(fromStoreURL: settings.store), logger: logger)
  }

  static func hostCPU() -> String? {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
    return line?.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
  }

  static func qemuVersion() -> String {
    let output = try? ProcessRunner.run(QEMUCommandLine.binary, ["--version"])
    let first = output?.stdout.split(separator: "\n").first.map(String.init) ?? "unknown"
    return first.replacingOccurrences(of: "QEMU emulator version ", with: "")
  }
}

/// A long-running task that stops when the service group shuts down.
struct BackgroundService: Service {
  let body: @Sendable () async throws -> Void

  init(_ body: @escaping @Sendable () async throws -> Void) {
    self.body = body
  }

  func run() async throws {
    try await cancelWhenGracefulShutdown {
      try await body()
    }
  }
}

/// Closes the store last (services shut down in reverse order).
struct StoreService: Service {
  let store: any ClusterStore

  func run() async throws {
    try? await gracefulShutdown()
    await store.close()
  }
}
