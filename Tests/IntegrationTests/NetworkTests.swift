import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests {
  /// A bridged NIC: the agent creates a tap on an existing Linux bridge before QEMU starts and
  /// removes it after QEMU exits. The bridge has no uplink and no address, so nothing leaves it.
  @Suite("Bridged networking")
  struct NetworkTests {
    @Test("a bridged NIC gets a tap on the bridge while the VM runs, with its stable MAC")
    func bridgedNIC() async throws {
      let bridge = "kzbr\(UUID().uuidString.prefix(6).lowercased())"
      try ProcessRunner.run("ip", ["link", "add", "name", bridge, "type", "bridge"])
      defer { _ = try? ProcessRunner.run("ip", ["link", "delete", "dev", bridge]) }
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      #expect(try await node.client.node("node-1").node.bridges?.contains(bridge) == true)
      let created = try await node.client.createVM(
        CreateVMRequest(
          name: "bridged", image: "tiny", memoryMiB: 192,
          nics: [NICRequest(network: "bridge:\(bridge)"), NICRequest(network: "user")], start: true)
      )
      let view = try await node.waitForPhase("bridged", .running)
      let tap =
        "kz"
        + created.vm.id.uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(9)
        + "n0"
      #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(tap)"))
      let master = try? FileManager.default.destinationOfSymbolicLink(
        atPath: "/sys/class/net/\(tap)/master")
      #expect(master?.hasSuffix(bridge) == true, "the tap is enslaved to the bridge")
      let mac = created.vm.spec.nics[0].mac
      let qemu = try #require(view.status.pid)
      let cmdline = String(
        decoding: FileManager.default.contents(atPath: "/proc/\(qemu)/cmdline") ?? Data(),
        as: UTF8.self)
      #expect(cmdline.contains("mac=\(mac)"))
      _ = try await node.client.perform(.stop, on: "bridged")
      #expect(
        !FileManager.default.fileExists(atPath: "/sys/class/net/\(tap)"), "the tap is removed")
      _ = try await node.client.perform(.start, on: "bridged")
      #expect(try await node.client.vm("bridged").vm.spec.nics[0].mac == mac, "the MAC is stable")
      #expect(FileManager.default.fileExists(atPath: "/sys/class/net/\(tap)"))
      node.cleanUp()
      #expect(
        !FileManager.default.fileExists(atPath: "/sys/class/net/\(tap)"),
        "the test leaves no tap behind")
    }

    @Test(
      "a bridge no node has is refused at create; nodes report bridges as they come and go; one removed under a VM fails its start with a clear reason"
    )
    func missingBridge() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      let refusal = await #expect(throws: KazeError.self) {
        try await node.client.createVM(
          CreateVMRequest(
            name: "lost", image: "tiny", nics: [NICRequest(network: "bridge:kznosuchbr")],
            start: true))
      }
      #expect(refusal?.code == .invalidArgument)
      #expect(refusal?.field == "nics[0].network")
      #expect(refusal?.message.contains("'kznosuchbr'") == true, "\(String(describing: refusal))")
      #expect(try await node.client.vms().isEmpty, "nothing was created")

      let bridge = "kzbr\(UUID().uuidString.prefix(6).lowercased())"
      try ProcessRunner.run("ip", ["link", "add", "name", bridge, "type", "bridge"])
      defer { _ = try? ProcessRunner.run("ip", ["link", "delete", "dev", bridge]) }
      try await eventually("node-1 reports \(bridge)", timeout: .seconds(60)) {
        try await node.client.node("node-1").node.bridges?.contains(bridge) == true ? true : nil
      }
      _ = try await node.client.createVM(
        CreateVMRequest(
          name: "lost", image: "tiny", nics: [NICRequest(network: "bridge:\(bridge)")],
          start: false))
      _ = try await eventually("lost is placed", timeout: .seconds(30)) {
        try await node.client.vm("lost").vm.node
      }
      try ProcessRunner.run("ip", ["link", "delete", "dev", bridge])
      try await eventually("node-1 no longer reports \(bridge)", timeout: .seconds(60)) {
        try await node.client.node("node-1").node.bridges?.contains(bridge) == false ? true : nil
      }
      let startError = await #expect(throws: KazeError.self) {
        try await node.client.perform(.start, on: "lost")
      }
      #expect(
        startError?.message.contains("bridge \(bridge) does not exist") == true,
        "\(String(describing: startError))")
      let failed = try await node.waitForPhase("lost", .failed)
      #expect(
        failed.status.lastError?.contains("bridge \(bridge) does not exist") == true,
        "\(failed.status.lastError ?? "no error")")
      #expect(node.qemuPids().isEmpty)
    }
  }
}
