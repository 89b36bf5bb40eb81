import Foundation
import KazeModel

/// Everything besides the VM spec that decides QEMU's command line on one node.
public struct QEMULaunchContext: Sendable, Equatable {
  public var accelerator: Accelerator
  /// Per-VM folder for the pidfile, QMP socket, serial socket and log, and VNC socket.
  public var runDirectory: String
  /// One path per `spec.disks` entry, in order.
  public var diskPaths: [String]
  /// One tap device name per `spec.nics` entry (nil for user-mode NICs).
  public var tapNames: [String?]
  /// Per-VM copy of the UEFI variable store (UEFI firmware only).
  public var efiVarsPath: String?
  public var ovmfCodePath: String
  /// For the target of a live migration: where QEMU waits for the stream (`tcp:HOST:PORT`).
  public var incoming: String?
  /// The CPU model for a VM that names none: the cluster's baseline, or on a migration target
  /// the model the VM runs with on its source. Nil: the accelerator's default.
  public var cpuModel: String?
  /// Start with the guest paused (`-S`): a migration target that must not touch its disks before
  /// the agent says so.
  public var startPaused = false

  public init(
    accelerator: Accelerator, runDirectory: String, diskPaths: [String], tapNames: [String?],
    efiVarsPath: String? = nil, ovmfCodePath: String = "/usr/share/OVMF/OVMF_CODE_4M.fd",
    incoming: String? = nil
  ) {
    self.incoming = incoming
    self.accelerator = accelerator
    self.runDirectory = runDirectory
    self.diskPaths = diskPaths
    self.tapNames = tapNames
    self.efiVarsPath = efiVarsPath
    self.ovmfCodePath = ovmfCodePath
  }

  public var files: VMRunFiles { VMRunFiles(directory: runDirectory) }
  public var pidfilePath: String { files.pidfile }
  public var qmpSocketPath: String { files.qmpSocket }
  public var consoleLogPath: String { files.consoleLog }
  public var serialSocketPath: String { files.serialSocket }
  public var vncSocketPath: String { files.vncSocket }
}

/// Turns a VM into the argv of a detached QEMU: its own session (`-daemonize`), a pidfile and a
/// QMP socket in the VM's run folder, the serial console on a socket and appended to a log file,
/// and a standard VGA display served by VNC on a socket in the same folder.
public enum QEMUCommandLine {
  public static let binary = "qemu-system-x86_64"

  public static func arguments(for vm: VM, context: QEMULaunchContext) throws -> [String] {
    let spec = vm.spec
    guard context.diskPaths.count == spec.disks.count else {
      throw KazeError(
        .internalError, "\(spec.disks.count) disks but \(context.diskPaths.count) paths")
    }
    guard context.tapNames.count == spec.nics.count else {
      throw KazeError(.internalError, "\(spec.nics.count) NICs but \(context.tapNames.count) taps")
    }
    var args: [String] = [
      "-name", "guest=\(vm.name),debug-threads=on",
      "-uuid", vm.id.uuidString.lowercased(),
      "-machine", machine(spec),
      "-accel", context.accelerator == .kvm ? "kvm" : "tcg,thread=multi",
      "-cpu", cpu(spec, model: context.cpuModel ?? defaultCPUModel(for: context.accelerator)),
      "-smp", "\(spec.cpus)",
      "-m", "\(spec.memoryMiB)",
      "-nodefaults", "-no-user-config",
      "-display", "none",
      "-daemonize", "-pidfile", context.pidfilePath,
      "-qmp", "unix:\(escape(context.qmpSocketPath)),server=on,wait=off",
      "-chardev",
      "socket,id=serial0,path=\(escape(context.serialSocketPath)),server=on,wait=off,"
        + "logfile=\(escape(context.consoleLogPath)),logappend=on",
      "-serial", "chardev:serial0",
      "-device", "VGA,id=video0",
      "-vnc", "unix:\(escape(context.vncSocketPath))",
    ]
    if spec.tablet == true {
      args += ["-device", "qemu-xhci,id=usb0", "-device", "usb-tablet,id=tablet0,bus=usb0.0"]
    }
    if spec.osType == .windows { args += ["-rtc", "base=localtime,driftfix=slew"] }
    if spec.firmware == .uefi {
      guard let vars = context.efiVarsPath else {
        throw KazeError(.internalError, "UEFI VM \(vm.name) has no variable store")
      }
      args += [
        "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=\(escape(context.ovmfCodePath))",
        "-drive", "if=pflash,format=raw,unit=1,file=\(escape(vars))",
      ]
    }
    if case .kernel(let boot) = spec.boot {
      args += ["-kernel", boot.kernelPath]
      if let initrd = boot.initrdPath { args += ["-initrd", initrd] }
      args += ["-append", boot.cmdline]
    }
    let bootsFromDisk = spec.boot == .disk
    for (index, (disk, path)) in zip(spec.disks, context.diskPaths).enumerated() {
      args += diskArguments(
        disk, path: path, index: index, bootIndex: bootsFromDisk ? index + 1 : nil,
        machine: spec.machine)
    }
    for (index, (nic, tap)) in zip(spec.nics, context.tapNames).enumerated() {
      args += try nicArguments(nic, index: index, tap: tap)
    }
    args += ["-device", "virtio-balloon-pci,id=balloon0"]
    if context.startPaused { args.append("-S") }
    if let incoming = context.incoming { args += ["-incoming", incoming] }
    return args
  }

  static func machine(_ spec: VMSpec) -> String {
    spec.machine == .q35 ? "q35" : "pc"
  }

  /// The model a VM gets when neither it nor the cluster names one.
  public static func defaultCPUModel(for accelerator: Accelerator) -> String {
    accelerator == .kvm ? "host" : "qemu64"
  }

  static func cpu(_ spec: VMSpec, model fallback: String) -> String {
    var model = spec.cpuModel ?? fallback
    if spec.osType == .windows {
      model += ",hv-relaxed,hv-vapic,hv-spinlocks=0x1fff,hv-time"
    }
    return model
  }

  /// A disk as a file node, a qcow2 node named after the disk (so QMP can address it), and a
  /// device. Boot order follows disk order, unless the VM boots a kernel directly.
  static func diskArguments(
    _ disk: DiskSpec, path: String, index: Int, bootIndex: Int?, machine: MachineType
  ) -> [String] {
    let node = disk.name
    var args = [
      "-blockdev",
      "driver=file,filename=\(escape(path)),node-name=\(node)-file,cache.direct=off,discard=unmap",
      "-blockdev", "driver=qcow2,file=\(node)-file,node-name=\(node),discard=unmap",
    ]
    let boot = bootIndex.map { ",bootindex=\($0)" } ?? ""
    switch disk.bus {
    case .virtio:
      args += ["-device", "virtio-blk-pci,drive=\(node),id=\(node)-dev\(boot)"]
    case .sata:
      let controller = machine == .q35 ? "ide.\(index)" : "ide.\(index / 2)"
      args += ["-device", "ide-hd,drive=\(node),id=\(node)-dev,bus=\(controller)\(boot)"]
    }
    return args
  }

  static func nicArguments(_ nic: NICSpec, index: Int, tap: String?) throws -> [String] {
    let id = "net\(index)"
    var netdev: String
    switch nic.kind {
    case .user:
      netdev = "user,id=\(id)"
    case .bridge:
      guard let tap else { throw KazeError(.internalError, "bridged NIC \(index) has no tap") }
      netdev = "tap,id=\(id),ifname=\(tap),script=no,downscript=no"
    }
    return ["-netdev", netdev, "-device", "\(nic.model),netdev=\(id),id=\(id)-dev,mac=\(nic.mac)"]
  }

  /// QEMU option values separate fields with ','; a literal comma is written twice.
  static func escape(_ value: String) -> String {
    value.replacingOccurrences(of: ",", with: ",,")
  }
}
