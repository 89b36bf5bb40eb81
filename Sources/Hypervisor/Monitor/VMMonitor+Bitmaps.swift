import Foundation
import KazeModel
import QMP

/// A dirty bitmap on a block node: which clusters were written since it was created.
public struct DirtyBitmap: Sendable, Equatable {
  public var name: String
  /// Bytes marked dirty.
  public var count: Int64
  public var persistent: Bool
  public var recording: Bool
  /// Set for a persistent bitmap QEMU loaded from an image that was not closed cleanly (QEMU
  /// was killed): it may miss writes and cannot be used or merged, only removed.
  public var inconsistent: Bool
}

/// One action of a QMP `transaction`: all of them take effect at the same instant, with no
/// guest write in between.
public enum BlockAction: Sendable {
  case addBitmap(node: String, name: String)
  case mergeBitmaps(node: String, into: String, from: [String])
  /// `blockdev-backup sync=bitmap bitmap-mode=never`: copies the ranges `bitmap` marks to
  /// `target`, as they are at the transaction (later writes to a range not yet copied have its
  /// old data copied first); the job stays listed (`concluded`) until dismissed.
  case backup(job: String, node: String, target: String, bitmap: String)

  var json: JSONValue {
    switch self {
    case .addBitmap(let node, let name):
      return .object([
        "type": .string("block-dirty-bitmap-add"),
        "data": .object(["node": .string(node), "name": .string(name)]),
      ])
    case .mergeBitmaps(let node, let target, let sources):
      return .object([
        "type": .string("block-dirty-bitmap-merge"),
        "data": .object([
          "node": .string(node), "target": .string(target),
          "bitmaps": .array(sources.map { .string($0) }),
        ]),
      ])
    case .backup(let job, let node, let target, let bitmap):
      return .object([
        "type": .string("blockdev-backup"),
        "data": .object([
          "job-id": .string(job), "device": .string(node), "target": .string(target),
          "sync": .string("bitmap"), "bitmap": .string(bitmap),
          "bitmap-mode": .string("never"), "auto-dismiss": .bool(false),
        ]),
      ])
    }
  }
}

extension VMMonitor {
  /// The dirty bitmaps of block node `node`.
  public func dirtyBitmaps(node: String) async throws -> [DirtyBitmap] {
    let value = try await command("query-named-block-nodes", .object(["flat": .bool(true)]))
    guard case .array(let nodes) = value,
      let entry = nodes.first(where: { $0["node-name"]?.stringValue == node }),
      case .array(let bitmaps) = entry["dirty-bitmaps"] ?? .array([])
    else { return [] }
    return bitmaps.map { bitmap in
      DirtyBitmap(
        name: bitmap["name"]?.stringValue ?? "", count: bitmap["count"]?.intValue ?? 0,
        persistent: bitmap["persistent"]?.boolValue ?? false,
        recording: bitmap["recording"]?.boolValue ?? false,
        inconsistent: bitmap["inconsistent"]?.boolValue ?? false)
    }
  }

  /// Adds a bitmap that records every write to `node` from now on. A persistent one is stored in
  /// the qcow2 image when QEMU closes it and loaded (recording) by the next QEMU; `disabled`
  /// ones record nothing (a merge target).
  public func addBitmap(
    node: String, name: String, persistent: Bool = false, disabled: Bool = false
  ) async throws {
    try await command(
      "block-dirty-bitmap-add",
      .object([
        "node": .string(node), "name": .string(name), "persistent": .bool(persistent),
        "disabled": .bool(disabled),
      ]))
  }

  public func removeBitmap(node: String, name: String) async throws {
    try await command(
      "block-dirty-bitmap-remove", .object(["node": .string(node), "name": .string(name)]))
  }

  /// Runs `actions` atomically.
  public func transaction(_ actions: [BlockAction]) async throws {
    try await command("transaction", .object(["actions": .array(actions.map(\.json))]))
  }

  /// Forgets a concluded job (one started with `auto-dismiss` off).
  public func dismissJob(_ job: String) async throws {
    try await command("job-dismiss", .object(["id": .string(job)]))
  }
}
