import ArgumentParser
import ClusterStore
import Foundation
import KazeModel
import Logging
import Scheduler

/// kazed's settings: defaults, then the optional JSON config file, then the command line.
struct Settings: Codable {
  var dataDir = "/var/lib/kaze"
  /// `sqlite` (embedded, one node) or `etcd://HOST:PORT[,HOST:PORT…]` (a cluster).
  var store = "sqlite"
  /// A directory every node mounts at the same path (NFS, CephFS): the `shared` pool.
  var sharedPool: String?
  var labels: [String: String] = [:]
  var listen = "127.0.0.1:7070"
  var nodeName: String?
  var advertise: String?
  var accel = "auto"
  var probeKernel: String?
  var leaseTtl = 3
  var shutdownTimeout = 30
  var cpuOvercommit = 8.0
  var memoryOvercommit = 1.0
  var logLevelName = "info"
  /// A Linux watchdog device (e.g. /dev/watchdog from `softdog`) the fence guard arms.
  var watchdogDevice: String?
  var watchdogTimeout = 1

  enum CodingKeys: String, CodingKey, CaseIterable {
    case dataDir, store, sharedPool, labels, listen, nodeName, advertise, accel, probeKernel
    case leaseTtl, shutdownTimeout
    case cpuOvercommit, memoryOvercommit, watchdogDevice, watchdogTimeout
    case logLevelName = "logLevel"
  }

  init() {}

  init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let defaults = Settings()
    dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir) ?? defaults.dataDir
    store = try c.decodeIfPresent(String.self, forKey: .store) ?? defaults.store
    sharedPool = try c.decodeIfPresent(String.self, forKey: .sharedPool)
    labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    listen = try c.decodeIfPresent(String.self, forKey: .listen) ?? defaults.listen
    nodeName = try c.decodeIfPresent(String.self, forKey: .nodeName)
    advertise = try c.decodeIfPresent(String.self, forKey: .advertise)
    accel = try c.decodeIfPresent(String.self, forKey: .accel) ?? defaults.accel
    probeKernel = try c.decodeIfPresent(String.self, forKey: .probeKernel)
    leaseTtl = try c.decodeIfPresent(Int.self, forKey: .leaseTtl) ?? defaults.leaseTtl
    shutdownTimeout =
      try c.decodeIfPresent(Int.self, forKey: .shutdownTimeout) ?? defaults.shutdownTimeout
    cpuOvercommit =
      try c.decodeIfPresent(Double.self, forKey: .cpuOvercommit) ?? defaults.cpuOvercommit
    memoryOvercommit =
      try c.decodeIfPresent(Double.self, forKey: .memoryOvercommit) ?? defaults.memoryOvercommit
    watchdogDevice = try c.decodeIfPresent(String.self, forKey: .watchdogDevice)
    watchdogTimeout =
      try c.decodeIfPresent(Int.self, forKey: .watchdogTimeout) ?? defaults.watchdogTimeout
    logLevelName =
      try c.decodeIfPresent(String.self, forKey: .logLevelName) ?? defaults.logLevelName
  }

  /// Fencing protects against a second copy on another node; one node on the embedded store
  /// has no other node, so it never fences.
  var selfFencing: Bool { store != "sqlite" }

  var logLevel: Logger.Level { Logger.Level(rawValue: logLevelName) ?? .info }

  var placementPolicy: PlacementPolicy {
    PlacementPolicy(cpuOvercommit: cpuOvercommit, memoryOvercommit: memoryOvercommit)
  }

  var host: String { String(listen[..<(listen.lastIndex(of: ":") ?? listen.endIndex)]) }

  var port: Int {
    Int(listen[(listen.lastIndex(of: ":").map(listen.index(after:)) ?? listen.endIndex)...]) ?? -1
  }

  var resolvedNodeName: String {
    if let nodeName { return nodeName }
    let host =
      ProcessInfo.processInfo.hostName.lowercased()
      .split(separator: ".").first.map(String.init) ?? "node"
    let cleaned = String(host.map { $0.isLetter || $0.isNumber ? $0 : "-" })
    return (try? Validators.name(cleaned)) != nil ? cleaned : "node-1"
  }

  static func resolve(command: KazedCommand) throws -> Settings {
    var settings = Settings()
    if let path = command.config {
      guard let data = FileManager.default.contents(atPath: path) else {
        throw ValidationError("--config: cannot read \(path)")
      }
      do {
        settings = try JSONDecoder().decode(Settings.self, from: data)
      } catch {
        throw ValidationError("--config \(path): \(KazeError.decoding(error).message)")
      }
    }
    if let value = command.dataDir { settings.dataDir = value }
    if let value = command.listen { settings.listen = value }
    if let value = command.store { settings.store = value }
    if let value = command.sharedPool { settings.sharedPool = value }
    for label in command.label {
      guard let equals = label.firstIndex(of: "="), equals != label.startIndex else {
        throw ValidationError("--label: '\(label)' is not KEY=VALUE")
      }
      settings.labels[String(label[..<equals])] = String(label[label.index(after: equals)...])
    }
    if let value = command.nodeName { settings.nodeName = value }
    if let value = command.advertise { settings.advertise = value }
    if let value = command.accel { settings.accel = value }
    if let value = command.probeKernel { settings.probeKernel = value }
    if let value = command.leaseTtl { settings.leaseTtl = value }
    if let value = command.shutdownTimeout { settings.shutdownTimeout = value }
    if let value = command.cpuOvercommit { settings.cpuOvercommit = value }
    if let value = command.memoryOvercommit { settings.memoryOvercommit = value }
    if let value = command.logLevel { settings.logLevelName = value }
    if let value = command.watchdogDevice { settings.watchdogDevice = value }
    if let value = command.watchdogTimeout { settings.watchdogTimeout = value }
    try settings.validate()
    return settings
  }

  func validate() throws {
    guard listen.contains(":"), (1...65535).contains(port) || port == 0, !host.isEmpty else {
      throw ValidationError("--listen: '\(listen)' is not HOST:PORT (e.g. 127.0.0.1:7070)")
    }
    if store != "sqlite" {
      do { _ = try EtcdClusterStore.endpoints(fromStoreURL: store) } catch let error as KazeError {
        throw ValidationError(
          "--store: \(error.message); use sqlite or etcd://HOST:PORT[,HOST:PORT…]")
      }
    }
    if let sharedPool, !sharedPool.hasPrefix("/") {
      throw ValidationError("--shared-pool: '\(sharedPool)' must be an absolute path")
    }
    guard ["auto", "kvm", "tcg"].contains(accel) else {
      throw ValidationError("--accel: '\(accel)' is not allowed; use auto, kvm or tcg")
    }
    guard (2...300).contains(leaseTtl) else {
      throw ValidationError("--lease-ttl: \(leaseTtl) is not allowed; use 2 to 300 seconds")
    }
    if let watchdogDevice {
      guard selfFencing else {
        throw ValidationError(
          "--watchdog-device: a watchdog backs up fencing, which only a cluster store "
            + "(--store etcd://…) uses")
      }
      guard watchdogDevice.hasPrefix("/") else {
        throw ValidationError("--watchdog-device: '\(watchdogDevice)' must be an absolute path")
      }
    }
    guard (1...max(1, leaseTtl / 2)).contains(watchdogTimeout) else {
      throw ValidationError(
        "--watchdog-timeout: \(watchdogTimeout) is not allowed; use 1 to \(max(1, leaseTtl / 2)) "
          + "seconds (at most half the lease TTL, so a reset comes before the lease expires)")
    }
    guard (1...3600).contains(shutdownTimeout) else {
      throw ValidationError(
        "--shutdown-timeout: \(shutdownTimeout) is not allowed; use 1 to 3600 seconds")
    }
    guard (1.0...64.0).contains(cpuOvercommit) else {
      throw ValidationError(
        "--cpu-overcommit: \(cpuOvercommit) is not allowed; use 1 to 64 vCPUs per host CPU")
    }
    guard (0.5...4.0).contains(memoryOvercommit) else {
      throw ValidationError("--memory-overcommit: \(memoryOvercommit) is not allowed; use 0.5 to 4")
    }
    guard Logger.Level(rawValue: logLevelName) != nil else {
      throw ValidationError(
        "--log-level: '\(logLevelName)' is not a level (trace, debug, info, notice, warning, error)"
      )
    }
    do { try Validators.name(resolvedNodeName, field: "--node-name") } catch let error as KazeError
    {
      throw ValidationError(error.message)
    }
    guard dataDir.hasPrefix("/") || !dataDir.isEmpty else {
      throw ValidationError("--data-dir: give a folder")
    }
  }
}
