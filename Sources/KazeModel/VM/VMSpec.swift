import Foundation

/// What a VM should look like: everything QEMU needs to start it. Written by the API, read by the
/// node agent; never contains observed state.
public struct VMSpec: Codable, Sendable, Equatable {
  public var cpus: Int
  public var memoryMiB: Int
  public var machine: MachineType
  public var firmware: Firmware
  public var osType: OSType
  /// A named CPU model (`qemu64`, `x86-64-v2`, `host`); nil lets the node choose for its accelerator.
  public var cpuModel: String?
  public var boot: BootSource
  public var disks: [DiskSpec]
  public var nics: [NICSpec]
  /// VMs of the same affinity group are kept on one node (chatty pairs).
  public var affinityGroup: String?
  /// VMs of the same anti-affinity group are kept on different nodes (replicas of a service).
  public var antiAffinityGroup: String?
  /// Labels a node must carry to run this VM (`kazed --label KEY=VALUE`).
  public var nodeSelector: [String: String]?
  /// The node to hold the secondary copies of disks on the replicated pool; nil lets the
  /// scheduler choose (never the node that runs the VM).
  public var replicaNode: String?
  /// A USB tablet (xHCI controller + `usb-tablet`) so the display's pointer is absolute. New VMs
  /// get one unless asked not to; nil (VMs created before it existed) keeps their hardware as it
  /// was, so their QEMU command line, and live migration between nodes, stay unchanged.
  public var tablet: Bool?

  public init(
    cpus: Int = 1, memoryMiB: Int = 256, machine: MachineType = .pc, firmware: Firmware = .bios,
    osType: OSType = .linux, cpuModel: String? = nil, boot: BootSource = .disk,
    disks: [DiskSpec] = [], nics: [NICSpec] = []
  ) {
    self.cpus = cpus
    self.memoryMiB = memoryMiB
    self.machine = machine
    self.firmware = firmware
    self.osType = osType
    self.cpuModel = cpuModel
    self.boot = boot
    self.disks = disks
    self.nics = nics
  }
}

public enum MachineType: String, Codable, Sendable, CaseIterable { case pc, q35 }
public enum Firmware: String, Codable, Sendable, CaseIterable { case bios, uefi }
public enum OSType: String, Codable, Sendable, CaseIterable { case linux, windows, other }

/// How the guest boots: from its first disk, or from a kernel and initrd (direct kernel boot).
public enum BootSource: Codable, Sendable, Equatable {
  case disk
  case kernel(KernelBoot)
}

public struct KernelBoot: Codable, Sendable, Equatable {
  public var kernelPath: String
  public var initrdPath: String?
  public var cmdline: String

  public init(kernelPath: String, initrdPath: String?, cmdline: String) {
    self.kernelPath = kernelPath
    self.initrdPath = initrdPath
    self.cmdline = cmdline
  }
}

public struct DiskSpec: Codable, Sendable, Equatable {
  /// Stable name within the VM: `disk0`, `disk1`, …
  public var name: String
  public var pool: String
  public var sizeBytes: Int64
  /// Path of a read-only base image this disk is a linked clone of (qcow2 backing file).
  public var backingPath: String?
  public var bus: DiskBus

  public init(
    name: String, pool: String = "local", sizeBytes: Int64, backingPath: String? = nil,
    bus: DiskBus = .virtio
  ) {
    self.name = name
    self.pool = pool
    self.sizeBytes = sizeBytes
    self.backingPath = backingPath
    self.bus = bus
  }
}

public enum DiskBus: String, Codable, Sendable, CaseIterable { case virtio, sata }

public struct NICSpec: Codable, Sendable, Equatable {
  public enum Kind: Codable, Sendable, Equatable {
    /// QEMU user-mode networking: no host set-up, outbound only. For demos and tests.
    case user
    /// A tap device enslaved to an existing Linux bridge.
    case bridge(String)

    /// The bridge a bridged NIC joins; nil for user-mode networking.
    public var bridgeName: String? {
      guard case .bridge(let name) = self else { return nil }
      return name
    }
  }

  public var kind: Kind
  public var mac: String
  public var model: String

  public init(kind: Kind, mac: String, model: String = "virtio-net-pci") {
    self.kind = kind
    self.mac = mac
    self.model = model
  }
}
