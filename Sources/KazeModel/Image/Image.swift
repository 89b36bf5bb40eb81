import Foundation

/// Something a VM can be created from: a kernel+initrd pair (direct kernel boot), a disk image,
/// or a template made from a VM (a read-only base disk that new VMs link-clone).
public struct Image: Codable, Sendable, Equatable {
  public var name: String
  public var kind: ImageKind
  public var pool: String
  public var kernelPath: String?
  public var initrdPath: String?
  /// Kernel command line for kernel images (the node adds `console=ttyS0`).
  public var cmdline: String?
  /// Path of the base disk (qcow2) that VMs made from this image use as a backing file.
  public var diskPath: String?
  public var diskSizeBytes: Int64?
  /// For templates: the VM it was made from.
  public var sourceVM: String?
  public var createdAt: Date

  public init(
    name: String, kind: ImageKind, pool: String = "local", kernelPath: String? = nil,
    initrdPath: String? = nil, cmdline: String? = nil, diskPath: String? = nil,
    diskSizeBytes: Int64? = nil, sourceVM: String? = nil, createdAt: Date = Date()
  ) {
    self.name = name
    self.kind = kind
    self.pool = pool
    self.kernelPath = kernelPath
    self.initrdPath = initrdPath
    self.cmdline = cmdline
    self.diskPath = diskPath
    self.diskSizeBytes = diskSizeBytes
    self.sourceVM = sourceVM
    self.createdAt = createdAt
  }
}

public enum ImageKind: String, Codable, Sendable, CaseIterable { case kernel, disk, template }

/// A disk snapshot of a stopped VM (qcow2 internal snapshot, taken on every disk at once).
public struct Snapshot: Codable, Sendable, Equatable {
  public var vm: String
  public var name: String
  public var createdAt: Date
  public var description: String?

  public init(vm: String, name: String, createdAt: Date = Date(), description: String? = nil) {
    self.vm = vm
    self.name = name
    self.createdAt = createdAt
    self.description = description
  }
}
