import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests {
  /// Disks, templates and snapshots with real guests that write and read their virtio disk.
  @Suite("Disks, linked clones and snapshots with real guests")
  struct DiskTests {
    @Test("kaze disk move: a running guest's disk moves to another pool, no record lost, no reboot")
    func moveWhileRunning() async throws {
      let shared = NSTemporaryDirectory() + "kaze-move-\(UUID().uuidString.prefix(8).lowercased())"
      try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: shared) }
      let node = try KazedHarness(extraArguments: ["--shared-pool", shared])
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      let client = node.client
      _ = try await client.createVM(
        CreateVMRequest(
          name: "mover", image: "tiny", memoryMiB: 192,
          disks: [DiskRequest(size: "32M", pool: "local")], cmdline: "kaze.records=on",
          start: true))
      try await eventually("mover writes records", timeout: .seconds(120)) {
        ReplicaGuest.lastAck((try? await client.console("mover", lines: 100))?.lines ?? []) >= 20
          ? true : nil
      }
      let pid = try await client.vm("mover").status.pid
      // Bad input first: nothing changes.
      for (pool, expected) in [("nowhere", "pool"), ("local", "already on pool")] {
        let refused = try node.kaze("disk", "move", "mover", "disk0", "--to", pool)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains(expected), "\(refused.stderr)")
      }
      let out = try node.kaze("disk", "move", "mover", "disk0", "--to", "shared")
      #expect(out.status == 0, "\(out.stderr)")
      #expect(out.stdout.contains("shared"), "\(out.stdout)")
      let view = try await client.vm("mover")
      #expect(view.vm.spec.disks.first?.pool == "shared")
      #expect(view.status.pid == pid, "the same QEMU: no restart")
      #expect(FileManager.default.fileExists(atPath: "\(shared)/disks/mover/disk0.qcow2"))
      #expect(
        !FileManager.default.fileExists(
          atPath: "\(node.dataDir)/pools/local/disks/mover/disk0.qcow2"))
      let acked = ReplicaGuest.lastAck(try await client.console("mover", lines: 100).lines)
      try await eventually("mover writes on, to the new image", timeout: .seconds(60)) {
        ReplicaGuest.lastAck((try? await client.console("mover", lines: 100))?.lines ?? []) >= acked
          + 20
          ? true : nil
      }
      // A reboot restarts QEMU from the spec (the new pool): every acknowledged record is there.
      _ = try await client.perform(.stop, on: "mover")
      let beforeStop = ReplicaGuest.lastAck(try await client.console("mover", lines: 100).lines)
      _ = try await client.perform(.start, on: "mover")
      let present = try await eventually("mover counts its records", timeout: .seconds(120)) {
        () async throws -> Int? in
        ReplicaGuest.recordsPresent(try await node.consoleSinceBoot("mover"))
          .flatMap { $0 >= beforeStop ? $0 : nil }
      }
      #expect(present >= beforeStop)
      let events = try await client.events(limit: 200, vm: "mover").map(\.kind)
      #expect(events.contains("disk.moved"))
    }

    @Test("a linked clone of a template boots and sees the template's data")
    func linkedClone() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      let client = node.client
      _ = try await client.createVM(
        CreateVMRequest(
          name: "golden", image: "tiny", memoryMiB: 192, disks: [DiskRequest(size: "32M")],
          cmdline: "kaze.write=from-template", start: true))
      try await node.waitForConsole("golden", "disk-write: [from-template]")
      _ = try await client.perform(.shutdown, on: "golden")
      let out = try node.kaze("image", "template", "tpl", "--from-vm", "golden")
      #expect(out.status == 0, "\(out.stderr)")
      let template = try #require(try await client.images().first { $0.name == "tpl" })
      #expect(template.kind == .template)
      _ = try await client.createVM(CreateVMRequest(name: "clone", image: "tpl", memoryMiB: 192))
      let disk = try #require(try await client.disks("clone").first)
      #expect(disk.backing == template.diskPath, "disk0 is a linked clone of the template")
      _ = try await client.perform(.start, on: "clone")
      try await node.waitForConsole("clone", "disk-read: [from-template]")
      try await node.waitForConsole("clone", "tick 1")
      let clonePath = "\(node.dataDir)/pools/local/disks/clone/disk0.qcow2"
      let size =
        (try FileManager.default.attributesOfItem(atPath: clonePath)[.size] as? Int) ?? .max
      #expect(size < 8 << 20, "the clone holds only its own writes, not a copy of the template")
      do {
        try await client.deleteImage("tpl")
        Issue.record("deleted a template a VM uses")
      } catch let error as KazeError {
        #expect(error.code == .conflict)
      }
    }

    @Test("reverting a snapshot restores the disk contents the guest wrote")
    func snapshotRevert() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      let client = node.client
      _ = try await client.createVM(
        CreateVMRequest(
          name: "snappy", image: "tiny", memoryMiB: 192, disks: [DiskRequest(size: "16M")],
          cmdline: "kaze.write=one", start: true))
      try await node.waitForConsole("snappy", "disk-write: [one]", boot: 1)
      _ = try await client.perform(.shutdown, on: "snappy")
      do {
        _ = try await client.createSnapshot("snappy", name: "Bad Name")
        Issue.record("took a snapshot with an invalid name")
      } catch let error as KazeError {
        #expect(error.code == .invalidArgument)
      }
      var out = try node.kaze("snapshot", "create", "snappy", "s1")
      #expect(out.status == 0, "\(out.stderr)")
      #expect(try await client.snapshots("snappy").map(\.name) == ["s1"])

      _ = try await client.updateVM("snappy", UpdateVMRequest(cmdline: "kaze.write=two"))
      _ = try await client.perform(.start, on: "snappy")
      try await node.waitForConsole("snappy", "disk-read: [one]", boot: 2)
      try await node.waitForConsole("snappy", "disk-write: [two]", boot: 2)
      do {
        _ = try await client.createSnapshot("snappy", name: "while-running")
        Issue.record("took a snapshot of a running VM")
      } catch let error as KazeError {
        #expect(error.code == .invalidState)
      }
      _ = try await client.perform(.shutdown, on: "snappy")

      out = try node.kaze("snapshot", "revert", "snappy", "s1")
      #expect(out.status == 0, "\(out.stderr)")
      _ = try await client.updateVM("snappy", UpdateVMRequest(cmdline: ""))
      _ = try await client.perform(.start, on: "snappy")
      try await node.waitForConsole("snappy", "disk-read: [one]", boot: 3)
      try await node.waitForConsole("snappy", "tick 1", boot: 3)
      #expect(!(try await node.consoleSinceBoot("snappy")).contains { $0.contains("[two]") })
      _ = try await client.perform(.stop, on: "snappy")
      try await client.deleteSnapshot("snappy", name: "s1")
      #expect(try await client.snapshots("snappy").isEmpty)
    }

    @Test("disks are added, grown while the VM runs, and deleted")
    func diskChanges() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      let client = node.client
      _ = try await client.createVM(CreateVMRequest(name: "grow", image: "tiny", memoryMiB: 192))
      #expect(try await client.addDisk("grow", size: "16M").map(\.name) == ["disk0"])
      #expect(try await client.addDisk("grow", size: "8M").map(\.name) == ["disk0", "disk1"])
      _ = try await client.perform(.start, on: "grow")
      try await node.waitForConsole("grow", "tick 1")
      let grown = try await client.resizeDisk("grow", disk: "disk0", size: "32M")
      #expect(grown.first?.sizeBytes == 32 << 20)
      do {
        _ = try await client.resizeDisk("grow", disk: "disk0", size: "16M")
        Issue.record("shrank a disk")
      } catch let error as KazeError {
        #expect(error.code == .invalidArgument)
      }
      let events = try await client.events(vm: "grow").map(\.kind)
      #expect(events.contains("disk.resized"))
      _ = try await client.perform(.stop, on: "grow")
      try await client.deleteDisk("grow", disk: "disk1")
      #expect(try await client.disks("grow").map(\.name) == ["disk0"])
      #expect(
        !FileManager.default.fileExists(
          atPath: "\(node.dataDir)/pools/local/disks/grow/disk1.qcow2"))
    }
  }
}
