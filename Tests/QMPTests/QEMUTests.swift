import Foundation
import QMP
import Testing

/// End-to-end tests against a real `qemu-system-x86_64 -machine none`. Each test starts its
/// own QEMU; a missing QEMU fails them. The first connection uses `connectWhenReady`, since
/// QEMU creates the socket file a moment before it listens on it.
@Suite("QMPClient against QEMU")
struct QEMUTests {
  @Test("handshake reports QEMU's version and query-status answers")
  func handshakeAndStatus() async throws {
    try await withQEMU { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      #expect(client.version.major >= 7)
      let status = try await client.queryStatus()
      #expect(status == QMPStatusInfo(running: true, status: "running"))
      await client.close()
    }
  }

  @Test("-S starts QEMU in prelaunch, and cont starts it running")
  func prelaunch() async throws {
    try await withQEMU(extraArguments: ["-S"]) { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      #expect(try await client.queryStatus() == QMPStatusInfo(running: false, status: "prelaunch"))
      try await client.cont()
      #expect(try await client.queryStatus().running)
      await client.close()
    }
  }

  @Test("stop emits STOP and pauses; cont emits RESUME and runs again")
  func stopAndContinue() async throws {
    try await withQEMU { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)

      let stopEvents = await client.eventStream()
      try await client.stop()
      let stop = await firstEvent(named: QMPEvent.Name.stop, in: stopEvents)
      #expect(stop != nil)
      #expect(try await client.queryStatus() == QMPStatusInfo(running: false, status: "paused"))

      let resumeEvents = await client.eventStream()
      try await client.cont()
      let resume = await firstEvent(named: QMPEvent.Name.resume, in: resumeEvents)
      #expect(resume != nil)
      #expect(try await client.queryStatus() == QMPStatusInfo(running: true, status: "running"))
      await client.close()
    }
  }

  @Test("system_reset emits RESET and system_powerdown emits POWERDOWN")
  func resetAndPowerdown() async throws {
    try await withQEMU { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)

      let resetEvents = await client.eventStream()
      try await client.systemReset()
      let reset = try #require(await firstEvent(named: QMPEvent.Name.reset, in: resetEvents))
      #expect(reset.data?["guest"] == false)

      let powerdownEvents = await client.eventStream()
      try await client.systemPowerdown()
      #expect(await firstEvent(named: QMPEvent.Name.powerdown, in: powerdownEvents) != nil)
      await client.close()
    }
  }

  @Test("an unknown command fails with CommandNotFound")
  func unknownCommand() async throws {
    try await withQEMU { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      let error = await #expect(throws: QMPError.self) {
        try await client.execute("no-such-command")
      }
      guard case .commandFailed(let command, let errorClass, let description) = error else {
        Issue.record("expected commandFailed, got \(String(describing: error))")
        return
      }
      #expect(command == "no-such-command")
      #expect(errorClass == "CommandNotFound")
      #expect(!description.isEmpty)
      // The connection is still usable.
      #expect(try await client.queryStatus().running)
      await client.close()
    }
  }

  @Test("typed execute sends arguments and decodes the reply")
  func typedExecute() async throws {
    struct HumanMonitorCommand: Encodable, Sendable {
      var commandLine: String
      enum CodingKeys: String, CodingKey { case commandLine = "command-line" }
    }
    struct ObjectProperty: Decodable, Sendable {
      var name: String
      var type: String
    }
    try await withQEMU { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      let version = try await client.execute(
        "human-monitor-command", arguments: HumanMonitorCommand(commandLine: "info version"),
        as: String.self)
      #expect(version.hasPrefix(client.version.description))

      let properties = try await client.execute(
        "qom-list", arguments: ["path": "/machine"] as JSONValue, as: [ObjectProperty].self)
      #expect(properties.contains { $0.name == "type" })

      let raw = try await client.execute("query-version")
      #expect(raw["qemu"]?["major"] == .int(Int64(client.version.major)))
      await client.close()
    }
  }

  @Test("commands from many tasks at once all get their own replies")
  func concurrentCommands() async throws {
    try await withQEMU { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
        for number in 0..<20 {
          // HMP's `print` answers with the number: every reply is different.
          group.addTask {
            let reply = try await client.execute(
              "human-monitor-command", arguments: ["command-line": .string("print/d \(number)")])
            return (number, reply)
          }
          group.addTask {
            (number, try await client.execute("query-status"))
          }
        }
        var replies = 0
        for try await (number, reply) in group {
          replies += 1
          if let text = reply.stringValue {
            #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "\(number)")
          } else {
            #expect(reply["running"] == true)
          }
        }
        #expect(replies == 40)
      }
      await client.close()
    }
  }

  @Test("a new client reattaches after the previous one disconnected")
  func reattach() async throws {
    try await withQEMU { qemu in
      let first = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      try await first.stop()
      await first.close()
      #expect(await remainingEvents(in: first.events) != nil)
      await #expect(throws: QMPError.disconnected) { try await first.queryStatus() }

      for _ in 0..<3 {
        let again = try await QMPClient.connect(socketPath: qemu.socketPath, timeout: .seconds(30))
        #expect(again.version == first.version)
        // State survives the reattach: the VM is still paused.
        #expect(try await again.queryStatus().status == "paused")
        await again.close()
      }

      // Events flow on a reattached connection.
      let last = try await QMPClient.connect(socketPath: qemu.socketPath, timeout: .seconds(30))
      let events = await last.eventStream()
      try await last.cont()
      #expect(await firstEvent(named: QMPEvent.Name.resume, in: events) != nil)
      await last.close()
    }
  }

  @Test("a client dropped without close() frees the socket for the next one")
  func droppedClient() async throws {
    try await withQEMU { qemu in
      var client: QMPClient? = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      _ = try await client?.queryStatus()
      client = nil
      let next = try await QMPClient.connect(socketPath: qemu.socketPath, timeout: .seconds(30))
      #expect(try await next.queryStatus().running)
      await next.close()
    }
  }

  @Test("while one client is attached another cannot complete the handshake")
  func secondClientWaits() async throws {
    try await withQEMU { qemu in
      let first = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      let error = await #expect(throws: QMPError.self) {
        try await QMPClient.connect(socketPath: qemu.socketPath, timeout: .milliseconds(500))
      }
      guard case .handshakeFailed = error else {
        Issue.record("expected handshakeFailed, got \(String(describing: error))")
        return
      }
      #expect(try await first.queryStatus().running)
      await first.close()

      let second = try await QMPClient.connect(socketPath: qemu.socketPath, timeout: .seconds(30))
      #expect(try await second.queryStatus().running)
      await second.close()
    }
  }

  @Test("quit emits SHUTDOWN, then the connection ends and the event stream finishes")
  func quit() async throws {
    try await withQEMU { qemu in
      let client = try await QMPClient.connectWhenReady(socketPath: qemu.socketPath)
      try await client.quit()
      let events = try #require(await remainingEvents(in: client.events))
      let shutdown = try #require(events.first { $0.name == QMPEvent.Name.shutdown })
      #expect(shutdown.data?["reason"] == "host-qmp-quit")
      #expect(await client.isConnected == false)
      await #expect(throws: QMPError.disconnected) { try await client.queryStatus() }
      await #expect(throws: QMPError.disconnected) { try await client.quit() }
    }
  }
}
