import Foundation
import KazeModel

/// The pools one node has: always its local `dir` pool, and a `shared` pool when every node
/// mounts the same directory at the same path (NFS, CephFS; one host folder in tests).
public struct StoragePools: Sendable {
  public var all: [DirectoryPool]

  public init(_ pools: [DirectoryPool]) {
    self.all = pools
  }

  public func pool(_ name: String) throws -> DirectoryPool {
    guard let pool = all.first(where: { $0.name == name }) else {
      throw KazeError(
        .notFound,
        "no storage pool named '\(name)' on this node; it has \(all.map(\.name).joined(separator: ", "))"
      )
    }
    return pool
  }

  /// Where images and templates go: the shared pool when there is one, so every node can
  /// start VMs from them.
  public var images: DirectoryPool {
    all.first { $0.kind == "shared" } ?? all[0]
  }

  public func diskPath(vm: String, disk: DiskSpec) throws -> String {
    try pool(disk.pool).diskPath(vm: vm, disk: disk.name)
  }

  /// Creates missing disk files (and grows short ones); returns their paths in spec order.
  public func ensureDisks(of vm: VM) throws -> [String] {
    try vm.spec.disks.map { try pool($0.pool).ensureDisk(vm: vm.name, spec: $0) }
  }

  /// The folder for a VM's per-VM files that are not disks (the UEFI variable store): beside
  /// its first disk, so they move with it on shared storage.
  public func vmDirectory(for vm: VM) -> String {
    let home = vm.spec.disks.first.flatMap { disk in try? self.pool(disk.pool) } ?? all[0]
    return home.vmDirectory(vm.name)
  }

  /// Removes the VM's folder from every pool.
  public func deleteDisks(vm: String) throws {
    for pool in all { try pool.deleteDisks(vm: vm) }
  }

  public func prepare() throws {
    for pool in all { try pool.prepare() }
  }

  public var infos: [PoolInfo] { all.map { $0.info() } }
}
