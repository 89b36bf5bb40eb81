import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import NIOWebSocket
import Testing

extension RealGuests {
  @Suite("Console websockets")
  struct ConsoleSocketTests {
    @Test("both console sockets close with the reason when the VM stops, and open again after")
    func closeWhenStopped() async throws {
      let node = try KazedHarness()
      defer { node.cleanUp() }
      try await node.start()
      try await node.importTestImage()
      _ = try await node.client.createVM(
        CreateVMRequest(name: "con", image: "tiny", memoryMiB: 128, start: true))
      // (Until the leader places it, the VM has no console: asking is an error, so ask again.)
      try await eventually("con ticking", timeout: .seconds(90)) { () async throws -> Bool? in
        let lines = (try? await node.client.console("con", lines: 20))?.lines ?? []
        return lines.contains { $0.hasPrefix("tick") } ? true : nil
      }
      let serialURL = ConsoleSocket.url(
        try await node.client.consoleTicket("con", kind: .serial), askedAt: node.server)
      let displayURL = ConsoleSocket.url(
        try await node.client.consoleTicket("con", kind: .vnc), askedAt: node.server)
      // Neither ever sees this text: each session lasts until the server closes it.
      async let serial = ConsoleSocket.session(
        serialURL, until: "no such output", timeout: .seconds(90))
      async let display = ConsoleSocket.session(
        displayURL, until: "no such output", timeout: .seconds(90))
      try await Task.sleep(for: .seconds(3))
      _ = try await node.client.perform(.stop, on: "con")
      let (serialEnd, displayEnd) = try await (serial, display)
      #expect(serialEnd.received.contains("tick"))
      #expect(serialEnd.closeCode == .normalClosure)
      #expect(serialEnd.closeReason?.contains("the VM stopped") == true)
      #expect(displayEnd.received.hasPrefix("RFB 003.008"))
      #expect(displayEnd.closeCode == .normalClosure)
      #expect(displayEnd.closeReason?.contains("the VM stopped") == true)
      // No ticket while it is stopped; after a start, a new one opens the new QEMU's console.
      await #expect(throws: KazeError.self) {
        _ = try await node.client.consoleTicket("con", kind: .serial)
      }
      let mark = try await node.client.console("con", lines: 1).nextOffset
      _ = try await node.client.perform(.start, on: "con")
      try await eventually("con booted again", timeout: .seconds(90)) {
        try await node.client.console("con", lines: 1000, offset: mark).lines.contains {
          $0.hasPrefix("kaze-guest: up")
        } ? true : nil
      }
      let again = try await ConsoleSocket.session(
        ConsoleSocket.url(
          try await node.client.consoleTicket("con", kind: .serial), askedAt: node.server),
        typing: "after-restart\r",
        until: "console input [after-restart]", timeout: .seconds(90))
      #expect(again.received.contains("console input [after-restart]"))
    }
  }
}
