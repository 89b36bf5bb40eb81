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
  /// With `reconnectDelay`, requests wait that long for a lost connection to come back (and
  /// the node keeps reconnecting in the background).
  public func addNBDNode(
    _ node: String, host: String, port: Int, export: String, reconnectDelay: Int = 0
  ) async throws {
    try await command(
      "blockdev-add",
      .object([
        "driver": .string("nbd"), "node-name": .string(node),
        "server": .object([
          "type": .string("inet"), "host": .string(host), "port": .string("\(port)"),
        ]),
        "export": .string(export), "reconnect-delay": .int(Int64(reconnectDelay)),
      ]))
  }

  /// Starts QEMU's own NBD server on `host:port` (a migration target serving its new disks).
  public func startNBDServer(host: String, port: Int) async throws {
    try await command(
      "nbd-server-start",
      .object([
        "addr": .object([
          "type": .string("inet"),
          "data": .object(["host": .string(host), "port": .string("\(port)")]),
        ])
      ]))
  }

  /// Serves block node `node` as writable NBD export `name` on the server `startNBDServer` began.
  public func exportBlockNode(_ node: String, as name: String) async throws {
    try await command(
      "block-export-add",
      .object([
        "type": .string("nbd"), "id": .string(name), "node-name": .string(node),
        "name": .string(name), "writable": .bool(true),
      ]))
  }

  /// Stops the NBD server and its exports.
  public func stopNBDServer() async throws {
    try await command("nbd-server-stop", nil)
  }

  /// The block node a guest device (`-device …,id=ID`) reads and writes now: its own disk node
  /// until a live disk move switched it to another.
  public func activeNode(device id: String) async throws -> String? {
    let value = try await command("query-block", nil)
    guard case .array(let devices) = value else { return nil }
    for device in devices {
      let qdev = device["qdev"]?.stringValue ?? ""
      if qdev == id || qdev.hasSuffix("/\(id)") || qdev.contains("/\(id)/") {
        return device["inserted"]?["node-name"]?.stringValue
      }
    }
    return nil
  }

  /// The qcow2 node that reads and writes the image at `path`: the disk's own node, or the one a
  /// live disk move switched the guest to (filters a mirror job puts above it do not count).
  public func formatNode(path: String) async throws -> String? {
    let value = try await command("query-named-block-nodes", .object(["flat": .bool(true)]))
    guard case .array(let nodes) = value else { return nil }
    return nodes.first {
      $0["drv"]?.stringValue == "qcow2" && $0["file"]?.stringValue == path
    }?["node-name"]?.stringValue
  }

  /// Opens a qcow2 image as block node `node` (its file as `node`-file).
  public func addQcow2Node(_ node: String, path: String) async throws {
    try await command(
      "blockdev-add",
      .object([
        "driver": .string("qcow2"), "node-name": .string(node),
        "file": .object([
          "driver": .string("file"), "filename": .string(path),
          "node-name": .string("\(node)-file"),
        ]),
      ]))
  }

  /// Ends a ready mirror by switching the guest's device over to the copy.
  public func completeBlockJob(_ job: String) async throws {
    try await command("block-job-complete", .object(["device": .string(job)]))
  }

  /// Removes a block node nothing uses any more.
  public func removeNode(_ node: String) async throws {
    try await command("blockdev-del", .object(["node-name": .string(node)]))
  }

  /// Mirrors block node `device` onto node `target` as job `job`: a full copy first, then — with
  /// `writeBlocking` — every guest write is acknowledged only once it is on both (the job stays
  /// `ready` until it is cancelled or completed).
  /// `onTargetError`: `report` ends the job when the target fails; `stop` pauses it, keeping
  /// what the target lacks, until `resumeBlockJob`. With `copyFirst` false (`sync: none`) the
  /// target is taken to hold the disk already: the job is ready at once and mirrors new writes.
  public func startMirror(
    job: String, device: String, target: String, writeBlocking: Bool,
    onTargetError: String = "report", copyFirst: Bool = true
  ) async throws {
    try await command(
      "blockdev-mirror",
      .object([
        "job-id": .string(job), "device": .string(device), "target": .string(target),
        "sync": .string(copyFirst ? "full" : "none"),
        "copy-mode": .string(writeBlocking ? "write-blocking" : "background"),
        "on-target-error": .string(onTargetError),
      ]))
  }

  public func resumeBlockJob(_ job: String) async throws {
    try await command("block-job-resume", .object(["device": .string(job)]))
  }

  /// Runs a qemu-io command on a block device through the monitor (writes go through any mirror
  /// like the guest's would).
  public func qemuIO(device: String, _ command: String) async throws -> String {
    let value = try await self.command(
      "human-monitor-command",
      .object(["command-line": .string("qemu-io -d \(device) \"\(command)\"")]))
    return value.stringValue ?? ""
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

  /// Returns once QEMU no longer lists `job` (it ended), or after `timeout`.
  public func waitForBlockJobEnd(_ job: String, timeout: Duration) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await blockJobs().contains(where: { $0.id == job }),
      ContinuousClock.now < deadline
    {
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  /// Ends a mirror at once (whatever it still had to copy) and drops its target node.
  public func abandonMirror(_ job: String, targetNode: String) async throws {
    try? await cancelBlockJob(job, force: true)
    try await waitForBlockJobEnd(job, timeout: .seconds(5))
    try? await removeNode(targetNode)
  }

  /// Stops a block job; a `ready` mirror stops without pivoting (the guest keeps its disk).
  public func cancelBlockJob(_ job: String, force: Bool = false) async throws {
    try await command("block-job-cancel", .object(["device": .string(job), "force": .bool(force)]))
  }
}
