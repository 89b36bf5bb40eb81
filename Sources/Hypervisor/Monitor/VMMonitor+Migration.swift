import Foundation
import KazeModel
import QMP

/// What `query-migrate` says about an outgoing migration.
public struct MigrationStats: Sendable, Equatable {
  /// QEMU's status: none, setup, active, pre-switchover, device, completed, failed, cancelled.
  public var status: String
  public var transferredBytes: Int64
  public var remainingBytes: Int64
  public var totalBytes: Int64
  /// Current throughput, megabits per second.
  public var mbps: Double
  public var downtimeMs: Int?
  public var totalTimeMs: Int?
  public var error: String?

  public var isFinished: Bool { ["completed", "failed", "cancelled"].contains(status) }
}

extension VMMonitor {
  /// Starts sending this VM to `uri` (`tcp:HOST:PORT`) with a downtime limit and a bandwidth cap
  /// (0 = as fast as the link goes). Returns at once; follow it with `migrationStats()`.
  public func migrate(to uri: String, downtimeLimitMs: Int, bandwidthMiBps: Int) async throws {
    let bandwidth: Int64 = bandwidthMiBps > 0 ? Int64(bandwidthMiBps) << 20 : 100 << 30
    try await command(
      "migrate-set-parameters",
      .object(["downtime-limit": .int(Int64(downtimeLimitMs)), "max-bandwidth": .int(bandwidth)]))
    try await command("migrate", .object(["uri": .string(uri)]))
  }

  /// The port an incoming QEMU started with `-incoming tcp:HOST:0` listens on.
  public func incomingPort() async throws -> Int {
    let value = try await command("query-migrate", nil)
    guard let port = value["socket-address"]?[0]?["port"]?.stringValue.flatMap(Int.init) else {
      throw KazeError(.internalError, "QEMU did not say where it waits for the migration")
    }
    return port
  }

  /// On an incoming QEMU started with `-S`: keeps its disks inactive (unlocked, not read) after
  /// the stream arrived, until `cont` — so another process may still write them until then.
  public func activateDisksOnResume() async throws {
    try await command(
      "migrate-set-capabilities",
      .object([
        "capabilities": .array([
          .object(["capability": .string("late-block-activate"), "state": .bool(true)])
        ])
      ]))
  }

  public func cancelMigration() async throws {
    try await command("migrate_cancel", nil)
  }

  public func migrationStats() async throws -> MigrationStats {
    let value = try await command("query-migrate", nil)
    let ram = value["ram"]
    return MigrationStats(
      status: value["status"]?.stringValue ?? "none",
      transferredBytes: ram?["transferred"]?.intValue ?? 0,
      remainingBytes: ram?["remaining"]?.intValue ?? 0,
      totalBytes: ram?["total"]?.intValue ?? 0,
      mbps: ram?["mbps"]?.doubleValue ?? 0,
      downtimeMs: value["downtime"]?.intValue.map(Int.init),
      totalTimeMs: value["total-time"]?.intValue.map(Int.init),
      error: value["error-desc"]?.stringValue)
  }
}
