import Foundation
import KazeModel

/// qcow2 operations on files that no QEMU has open: create, linked clone, grow, inspect,
/// and internal snapshots. Runs `qemu-img`.
public enum QemuImg {
  public struct Info: Decodable, Sendable {
    public var virtualSize: Int64
    public var format: String
    public var backingFilename: String?
    public var actualSize: Int64?

    enum CodingKeys: String, CodingKey {
      case virtualSize = "virtual-size"
      case format
      case backingFilename = "backing-filename"
      case actualSize = "actual-size"
    }
  }

  public struct SnapshotInfo: Decodable, Sendable {
    public var name: String
    enum CodingKeys: String, CodingKey { case name }
  }

  /// Creates an empty qcow2 of `sizeBytes`, or a linked clone of `backing` when given
  /// (reads go to the backing file until a block is written).
  public static func create(path: String, sizeBytes: Int64, backing: String? = nil) throws {
    var args = ["create", "-q", "-f", "qcow2"]
    if let backing { args += ["-b", backing, "-F", try info(path: backing).format] }
    args += [path, "\(sizeBytes)"]
    try ProcessRunner.run("qemu-img", args)
  }

  public static func info(path: String) throws -> Info {
    let out = try ProcessRunner.run("qemu-img", ["info", "-U", "--output=json", path])
    do {
      return try JSONDecoder().decode(Info.self, from: Data(out.stdout.utf8))
    } catch {
      throw KazeError(.internalError, "cannot read qemu-img info of \(path)", cause: "\(error)")
    }
  }

  /// Grows a disk; refuses to shrink (data would be lost).
  public static func grow(path: String, to sizeBytes: Int64) throws {
    let current = try info(path: path).virtualSize
    guard sizeBytes >= current else {
      throw KazeError(
        .invalidArgument,
        "size: \(sizeBytes.humanBytes) is smaller than the disk's \(current.humanBytes); disks only grow",
        field: "size")
    }
    if sizeBytes == current { return }
    try ProcessRunner.run("qemu-img", ["resize", "-q", path, "\(sizeBytes)"])
  }

  /// Copies a disk into a standalone qcow2 (no backing chain): how templates are made.
  public static func flatten(from source: String, to destination: String) throws {
    try ProcessRunner.run("qemu-img", ["convert", "-q", "-O", "qcow2", source, destination])
  }

  /// Converts any image qemu-img understands (raw, qcow2, vmdk, …) into a qcow2.
  public static func convertToQcow2(from source: String, to destination: String) throws {
    try ProcessRunner.run("qemu-img", ["convert", "-q", "-O", "qcow2", source, destination])
  }

  public static func createSnapshot(path: String, name: String) throws {
    try ProcessRunner.run("qemu-img", ["snapshot", "-c", name, path])
  }

  public static func revertSnapshot(path: String, name: String) throws {
    try ProcessRunner.run("qemu-img", ["snapshot", "-a", name, path])
  }

  public static func deleteSnapshot(path: String, name: String) throws {
    try ProcessRunner.run("qemu-img", ["snapshot", "-d", name, path])
  }

  public static func snapshots(path: String) throws -> [String] {
    let out = try ProcessRunner.run("qemu-img", ["info", "-U", "--output=json", path])
    struct Wrapper: Decodable {
      var snapshots: [SnapshotInfo]?
    }
    let wrapper = try? JSONDecoder().decode(Wrapper.self, from: Data(out.stdout.utf8))
    return (wrapper?.snapshots ?? []).map(\.name)
  }
}
