import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests {
  @Suite("Web UI in a real browser")
  struct WebUITests {
    @Test(
      "dashboard, VM list, VM page actions, create form with the API's messages, serial and VNC consoles, graphs, tasks, node page, event log; English and Japanese, tablet width"
    )
    func dashboard() async throws {
      // A bridge (no uplink, no address) for the create form to offer and web2 to join.
      let bridge = "kzui\(UUID().uuidString.prefix(6).lowercased())"
      try ProcessRunner.run("ip", ["link", "add", "name", bridge, "type", "bridge"])
      defer { _ = try? ProcessRunner.run("ip", ["link", "delete", "dev", bridge]) }
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      _ = try await node.client.createVM(
        CreateVMRequest(name: "web1", image: "tiny", memoryMiB: 128, start: true))
      let web1 = try await eventually("web1 running", timeout: .seconds(60)) {
        let view = try await node.client.vm("web1")
        return view.status.phase == .running ? view : nil
      }
      // A new VM has a USB tablet, so the display's pointer follows the browser's.
      let qemu = try #require(web1.status.pid)
      let arguments = String(
        decoding: FileManager.default.contents(atPath: "/proc/\(qemu)/cmdline") ?? Data(),
        as: UTF8.self)
      #expect(arguments.contains("usb-tablet"), "\(arguments)")
      // Kept after the run, for a person to look at.
      let shots = TestEnvironment.repository + "/test-artifacts/ui"
      try? FileManager.default.removeItem(atPath: shots)
      try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
      let script = TestEnvironment.repository + "/Tests/IntegrationTests/Web/ui_check.py"
      let run = try ProcessRunner.run(
        "/usr/bin/env",
        [
          "KAZE_UI_BRIDGE=\(bridge)", "/usr/bin/python3", script, "http://\(node.server)",
          node.name, shots,
        ],
        check: false, timeout: .seconds(180))
      #expect(run.status == 0, "browser check failed: \(run.stderr)\n\(run.stdout)")
      for file in [
        "dashboard-en.png", "vm-list-en.png", "vm-detail-en.png", "create-refused-en.png",
        "serial-console-en.png", "display-en.png", "tasks-en.png", "node-en.png",
        "events-en.png", "dashboard-ja.png", "vm-detail-ja.png", "events-ja.png",
        "dashboard-tablet-ja.png", "vm-detail-tablet-ja.png", "vm-list-tablet-ja.png",
      ] {
        #expect(FileManager.default.fileExists(atPath: "\(shots)/\(file)"), "\(file)")
      }
    }
  }
}
