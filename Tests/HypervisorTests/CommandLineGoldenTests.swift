import Foundation
import Hypervisor
import KazeModel
import Testing

/// QEMU command lines compared with checked-in golden files (one argument per line).
/// Run with KAZE_UPDATE_GOLDEN=1 to rewrite them after an intended change, and review the diff.
@Suite("QEMU command lines")
struct CommandLineGoldenTests {
  static let id = UUID(uuidString: "0f4c2a8e-1b7d-4c55-9e2a-6a1d3f5b7c90")!

  static func vm(_ name: String, _ spec: VMSpec) -> VM {
    VM(id: id, name: name, image: "img", spec: spec, createdAt: Date(timeIntervalSince1970: 0))
  }

  static func withTablet(_ spec: VMSpec) -> VMSpec {
    var spec = spec
    spec.tablet = true
    return spec
  }

  static let cases: [(String, VM, QEMULaunchContext)] = [
    (
      "linux-bios-kernel",
      vm(
        "web",
        VMSpec(
          cpus: 2, memoryMiB: 512,
          boot: .kernel(
            KernelBoot(
              kernelPath: "/pool/images/tiny/vmlinuz", initrdPath: "/pool/images/tiny/initrd.img",
              cmdline: "console=ttyS0 quiet")),
          disks: [DiskSpec(name: "disk0", sizeBytes: 1 << 30)],
          nics: [NICSpec(kind: .user, mac: "52:54:00:aa:bb:01")])),
      QEMULaunchContext(
        accelerator: .tcg, runDirectory: "/data/run/web",
        diskPaths: ["/pool/disks/web/disk0.qcow2"],
        tapNames: [nil])
    ),
    (
      "windows-uefi-q35",
      vm(
        "win",
        withTablet(
          VMSpec(
            cpus: 4, memoryMiB: 4096, machine: .q35, firmware: .uefi, osType: .windows,
            cpuModel: "x86-64-v2", boot: .disk,
            disks: [DiskSpec(name: "disk0", sizeBytes: 64 << 30, bus: .sata)],
            nics: [NICSpec(kind: .bridge("br0"), mac: "52:54:00:aa:bb:02", model: "e1000e")]))),
      QEMULaunchContext(
        accelerator: .kvm, runDirectory: "/data/run/win",
        diskPaths: ["/pool/disks/win/disk0.qcow2"],
        tapNames: ["kzwin0n0"], efiVarsPath: "/pool/disks/win/efivars.fd")
    ),
    (
      "several-disks-and-nics",
      vm(
        "db",
        VMSpec(
          cpus: 8, memoryMiB: 16384, boot: .disk,
          disks: [
            DiskSpec(
              name: "disk0", sizeBytes: 20 << 30, backingPath: "/pool/images/debian/base.qcow2"),
            DiskSpec(name: "disk1", sizeBytes: 100 << 30),
            DiskSpec(name: "disk2", sizeBytes: 1 << 40),
          ],
          nics: [
            NICSpec(kind: .user, mac: "52:54:00:aa:bb:03"),
            NICSpec(kind: .bridge("br-lan"), mac: "52:54:00:aa:bb:04"),
            NICSpec(kind: .bridge("br-san"), mac: "52:54:00:aa:bb:05"),
          ])),
      QEMULaunchContext(
        accelerator: .tcg, runDirectory: "/data/run/db",
        diskPaths: [
          "/pool/disks/db/disk0.qcow2", "/pool/disks/db/disk1.qcow2",
          "/pool/disks/db/with,comma.qcow2",
        ],
        tapNames: [nil, "kzdb0n1", "kzdb0n2"])
    ),
  ]

  @Test("matches the golden file", arguments: cases.map(\.0))
  func golden(_ name: String) throws {
    let (_, vm, context) = try #require(Self.cases.first { $0.0 == name })
    let actual =
      try QEMUCommandLine.arguments(for: vm, context: context).joined(separator: "\n") + "\n"
    let sourceFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Golden/\(name).args")
    if ProcessInfo.processInfo.environment["KAZE_UPDATE_GOLDEN"] == "1" {
      try actual.write(to: sourceFile, atomically: true, encoding: .utf8)
      return
    }
    let url = try #require(
      Bundle.module.url(forResource: name, withExtension: "args", subdirectory: "Golden"))
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(actual == expected)
  }

  @Test("every VM runs detached with a pidfile, a QMP socket and a serial log")
  func detached() throws {
    for (_, vm, context) in Self.cases {
      let args = try QEMUCommandLine.arguments(for: vm, context: context)
      #expect(args.contains("-daemonize"))
      #expect(args.contains(context.pidfilePath))
      #expect(args.contains("unix:\(context.qmpSocketPath),server=on,wait=off"))
      #expect(args.contains { $0.contains(context.consoleLogPath) })
      #expect(args.contains(vm.id.uuidString.lowercased()))
    }
  }

  @Test("a context that does not match the spec is refused")
  func mismatch() {
    let (_, vm, context) = Self.cases[2]
    var broken = context
    broken.diskPaths.removeLast()
    #expect(throws: KazeError.self) { try QEMUCommandLine.arguments(for: vm, context: broken) }
  }
}
