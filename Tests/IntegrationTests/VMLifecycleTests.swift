import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

extension RealGuests {
  /// A real kazed with real QEMU guests (TCG) from the project's test image.
  @Suite("One node with real QEMU guests")
  struct VMLifecycleTests {
    @Test("through the CLI: create, start, serial ticks, shutdown, delete")
    func cliLifecycle() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      let image = try TestEnvironment.testImage()
      var out = try node.kaze(
        "image", "import", "tiny", "--kernel", image.kernel, "--initrd", image.initrd)
      #expect(out.status == 0, "\(out.stderr)")
      out = try node.kaze(
        "vm", "create", "demo", "--image", "tiny", "--disk", "64M", "--memory", "192")
      #expect(out.status == 0, "\(out.stderr)")
      out = try node.kaze("vm", "start", "demo")
      #expect(out.stdout == "demo: running\n", "\(out.stderr)")
      try await node.waitForConsole("demo", "tick 2")
      out = try node.kaze("vm", "console", "demo", "--lines", "5")
      #expect(out.stdout.contains("tick"))
      out = try node.kaze("vm", "list")
      #expect(out.stdout.contains("demo") && out.stdout.contains("running"))
      out = try node.kaze("node", "show")
      #expect(
        out.stdout.split(separator: "\n").contains {
          $0.hasPrefix("accelerator ") && $0.hasSuffix(" tcg (TCG chosen by configuration)")
        },
        "\(out.stdout)")
      let pid = try #require(try await node.client.vm("demo").status.pid)
      out = try node.kaze("vm", "shutdown", "demo")
      #expect(out.stdout == "demo: stopped\n", "\(out.stderr)")
      #expect(
        !KazedHarness.isQEMU(
          pid, vmID: try await node.client.vm("demo").vm.id.uuidString.lowercased()))
      let events = try await node.client.events(vm: "demo").map(\.kind)
      #expect(events.contains("vm.shutdown"))
      #expect(!events.contains("vm.shutdown-timeout"), "the guest should power off on ACPI")
      out = try node.kaze("vm", "delete", "demo")
      #expect(out.status == 0, "\(out.stderr)")
      out = try node.kaze("vm", "list", "--json")
      #expect(
        out.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]"
          || out.stdout.contains("[]"))
      #expect(!FileManager.default.fileExists(atPath: "\(node.dataDir)/pools/local/disks/demo"))
    }

    @Test("the CLI refuses bad input with one line and a non-zero exit")
    func cliBadInput() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      for arguments in [
        ["vm", "create", "x", "--image", "nope"],
        ["vm", "create", "x", "--image", "tiny", "--cpus", "0"],
        ["vm", "create", "x", "--image", "tiny", "--memory", "99999999"],
        ["vm", "create", "x", "--image", "tiny", "--disk", "lots"],
        ["vm", "start", "ghost"],
      ] {
        let out = try node.kaze(arguments)
        #expect(out.status != 0, "\(arguments) should fail")
        let lines = out.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: "), "\(arguments): \(out.stderr)")
      }
      #expect(try await node.client.vms().isEmpty)
    }

    @Test("through the API: create and start, pause, resume, reboot, stop, delete")
    func apiLifecycle() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      let client = node.client
      _ = try await client.createVM(
        CreateVMRequest(name: "api-vm", image: "tiny", memoryMiB: 192, start: true))
      let running = try await node.waitForPhase("api-vm", .running)
      #expect(running.status.accelerator == "tcg")
      try await node.waitForConsole("api-vm", "tick 1")
      let streamed = try ProcessRunner.run(
        "curl",
        ["-sN", "--max-time", "3", "http://\(node.server)/api/v1/vms/api-vm/console/stream"],
        check: false)
      #expect(streamed.stdout.contains("tick"), "the console stream follows the guest's output")
      #expect(try await client.perform(.pause, on: "api-vm").status.phase == .paused)
      #expect(try await client.perform(.resume, on: "api-vm").status.phase == .running)
      let rebooted = try await client.perform(.reboot, on: "api-vm")
      #expect(rebooted.status.rebootsDone == 1)
      #expect(rebooted.status.pid == running.status.pid, "a reboot keeps the same QEMU")
      #expect(try await client.perform(.stop, on: "api-vm").status.phase == .stopped)
      do {
        try await client.deleteVM("ghost")
        Issue.record("deleted a VM that does not exist")
      } catch let error as KazeError {
        #expect(error.code == .notFound)
      }
      try await client.deleteVM("api-vm")
      #expect(try await client.vms().isEmpty)
      #expect(node.qemuPids().isEmpty)
    }

    @Test("a UEFI VM on q35 boots through OVMF with its own variable store")
    func uefiBoot() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      _ = try await node.client.createVM(
        CreateVMRequest(
          name: "efi", image: "tiny", memoryMiB: 256, disks: [DiskRequest(size: "16M")],
          machine: .q35, firmware: .uefi, start: true))
      try await node.waitForConsole("efi", "tick 1")
      #expect(
        FileManager.default.fileExists(atPath: "\(node.dataDir)/pools/local/disks/efi/efivars.fd"))
      let pid = try #require(try await node.client.vm("efi").status.pid)
      let cmdline = String(
        decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(),
        as: UTF8.self)
      #expect(cmdline.contains("OVMF_CODE"))
    }

    @Test("a guest that ignores the ACPI power button is stopped hard after the timeout")
    func shutdownTimeout() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      _ = try await node.client.createVM(
        CreateVMRequest(
          name: "stubborn", image: "tiny", memoryMiB: 192, cmdline: "kaze.power-button=ignore",
          start: true))
      try await node.waitForConsole("stubborn", "tick 1")
      #expect(
        try await node.consoleSinceBoot("stubborn").contains(
          "kaze-guest: ignoring the power button"))
      let view = try await node.client.perform(.shutdown, on: "stubborn")
      #expect(view.status.phase == .stopped)
      let kinds = try await node.client.events(vm: "stubborn").map(\.kind)
      #expect(kinds.contains("vm.shutdown"))
      #expect(kinds.contains("vm.shutdown-timeout"))
      #expect(!kinds.contains("vm.crashed"), "a hard stop after the timeout is not a crash")
      #expect(node.qemuPids().isEmpty)
    }

    @Test("kill -9 of a VM's QEMU: the agent starts it again")
    func qemuCrashRestarts() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      _ = try await node.client.createVM(
        CreateVMRequest(name: "crashy", image: "tiny", memoryMiB: 192, start: true))
      let first = try await node.waitForPhase("crashy", .running)
      try await node.waitForConsole("crashy", "tick 1")
      let oldPid = try #require(first.status.pid)
      kill(oldPid, SIGKILL)
      let restarted = try await eventually("a new QEMU for crashy", timeout: .seconds(120)) {
        let view = try await node.client.vm("crashy")
        return view.status.phase == .running && view.status.pid != oldPid ? view : nil
      }
      #expect(restarted.status.crashRestarts >= 1)
      let id = restarted.vm.id.uuidString.lowercased()
      #expect(KazedHarness.qemuProcesses(vmID: id).count == 1)
      try await eventually("the restarted guest ticks", timeout: .seconds(120)) {
        let lines = try await node.client.console("crashy", lines: 400).lines
        let boots = lines.filter { $0.contains("kaze-guest: up") }.count
        let ticking = try await node.consoleSinceBoot("crashy").contains { $0.hasPrefix("tick") }
        return boots >= 2 && ticking ? true : nil
      }
      let kinds = try await node.client.events(vm: "crashy").map(\.kind)
      #expect(kinds.contains("vm.crashed"))
      #expect(kinds.contains("vm.restarted"))
    }

    @Test(
      "kill -9 of kazed: the VM keeps running and the restarted kazed reattaches to the same QEMU")
    func kazedCrashReattaches() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      _ = try await node.client.createVM(
        CreateVMRequest(name: "steady", image: "tiny", memoryMiB: 192, start: true))
      let before = try await node.waitForPhase("steady", .running)
      try await node.waitForConsole("steady", "tick 1")
      let pid = try #require(before.status.pid)
      let id = before.vm.id.uuidString.lowercased()
      node.crash()
      #expect(KazedHarness.isQEMU(pid, vmID: id), "QEMU must survive kazed")
      let logPath = "\(node.dataDir)/run/\(id)/console.log"
      let sizeDuringOutage =
        (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
      try await Task.sleep(for: .seconds(2))
      let sizeLater =
        (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
      #expect(sizeLater > sizeDuringOutage, "the guest keeps ticking while kazed is down")
      try await node.start()
      let after = try await eventually("steady reported by the new kazed", timeout: .seconds(60)) {
        let view = try await node.client.vm("steady")
        return view.status.phase == .running && view.status.pid != nil ? view : nil
      }
      #expect(after.status.pid == pid, "the same QEMU keeps serving the VM")
      #expect(KazedHarness.qemuProcesses(vmID: id) == [pid], "exactly one QEMU for the VM")
      try await Task.sleep(for: .seconds(3))
      #expect(KazedHarness.qemuProcesses(vmID: id) == [pid], "and still one a little later")
      #expect(try await node.client.events(vm: "steady").contains { $0.kind == "vm.reattached" })
      #expect(try await node.client.vm("steady").status.crashRestarts == 0)
    }
  }
}
