import Foundation
import KazeModel

/// A storage pool that is a directory: local disk (`dir`) or a directory every node mounts
/// (`shared`, for NFS/CephFS). Disks are qcow2 files under `disks/<vm>/`, images under `images/`.
public struct DirectoryPool: Sendable, Equatable {
  public var name: String
  public var kind: String
  public var root: String

  public init(name: String = "local", kind: String = "dir", root: String) {
    self.name = name
    self.kind = kind
    self.root = root
  }

  public func prepare() throws {
    for dir in [root, imagesDirectory, "\(root)/disks"] {
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
  }

  public var imagesDirectory: String { "\(root)/images" }

  public func vmDirectory(_ vm: String) -> String { "\(root)/disks/\(vm)" }

  public func diskPath(vm: String, disk: String) -> String { "\(vmDirectory(vm))/\(disk).qcow2" }

  /// Creates the disk file if it does not exist yet; grows it if the spec asks for more.
  public func ensureDisk(vm: String, spec: DiskSpec) throws -> String {
    let path = diskPath(vm: vm, disk: spec.name)
    if FileManager.default.fileExists(atPath: path) {
      let current = try QemuImg.info(path: path).virtualSize
      if spec.sizeBytes > current { try QemuImg.grow(path: path, to: spec.sizeBytes) }
      return path
    }
    try FileManager.default.createDirectory(
      atPath: vmDirectory(vm), withIntermediateDirectories: true)
    if let backing = spec.backingPath, !FileManager.default.fileExists(atPath: backing) {
      throw KazeError(.notFound, "base image \(backing) of \(vm)/\(spec.name) is missing")
    }
    let temporary = path + ".creating"
    try? FileManager.default.removeItem(atPath: temporary)
    try QemuImg.create(path: temporary, sizeBytes: spec.sizeBytes, backing: spec.backingPath)
    try FileManager.default.moveItem(atPath: temporary, toPath: path)
    return path
  }

  public func deleteDisks(vm: String) throws {
    let dir = vmDirectory(vm)
    if FileManager.default.fileExists(atPath: dir) {
      try FileManager.default.removeItem(atPath: dir)
    }
  }

  public func info() -> PoolInfo {
    var capacity: Int64 = 0
    var free: Int64 = 0
    if let attributes = try? FileManager.default.attributesOfFileSystem(forPath: root) {
      capacity = (attributes[.systemSize] as? NSNumber)?.int64Value ?? 0
      free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
    }
    return PoolInfo(name: name, kind: kind, path: root, capacityBytes: capacity, freeBytes: free)
  }
}
