import Foundation
import KazeModel
import QMP

/// What `query-block-jobs` says about one block job.
public struct BlockJobInfo: Sendable, Equatable {
  public var id: String
  public var type: String
  /// QEMU's job status: created, running, paused, ready, standby, waiting, pending, aborting,
  /// concluded, null.
  public var status: String
  public var offset: Int64
  public var length: Int64
  public var ready: Bool
  public var error: String?
}

extension VMMonitor {
  /// Opens an NBD export (served by another QEMU or a qemu-storage-daemon) as block node `node`.
  public func addNBDNode(_ node: String, host: String, port: Int, export: String) async throws {
    try await command(
      "blockdev-add",
      .object([
        "driver": .string("nbd"), "node-name": .string(node),
        "server": .object([
          "type": .string("inet"), "host": .string(host), "port": .string("\(port)"),
        ]),
        "export": .string(export),
      ]))
  }

  /// Removes a block node nothing uses any more.
  public func removeNode(_ node: String) async throws {
    try await command("blockdev-del", .object(["node-name": .string(node)]))
  }

  /// Mirrors block node `device` onto node `target` as job `job`: a full copy first, then — with
  /// `writeBlocking` — every guest write is acknowledged only once it is on both (the job stays
  /// `ready` until it is cancelled or completed).
  public func startMirror(
    job: String, device: String, target: String, writeBlocking: Bool
  )
    async throws
  {
    try await command(
      "blockdev-mirror",
      .object([
        "job-id": .string(job), "device": .string(device), "target": .string(target),
        "sync": .string("full"),
        "copy-mode": .string(writeBlocking ? "write-blocking" : "background"),
      ]))
  }

  public func blockJobs() async throws -> [BlockJobInfo] {
    let value = try await command("query-block-jobs", nil)
    guard case .array(let jobs) = value else { return [] }
    return jobs.map { job in
      BlockJobInfo(
        id: job["device"]?.stringValue ?? "", type: job["type"]?.stringValue ?? "",
        status: job["status"]?.stringValue ?? "", offset: job["offset"]?.intValue ?? 0,
        length: job["len"]?.intValue ?? 0, ready: job["ready"]?.boolValue ?? false,
        error: job["error"]?.stringValue)
    }
  }

  /// Stops a block job; a `ready` mirror stops without pivoting (the guest keeps its disk).
  public func cancelBlockJob(_ job: String, force: Bool = false) async throws {
    try await command("block-job-cancel", .object(["device": .string(job), "force": .bool(force)]))
  }
}
