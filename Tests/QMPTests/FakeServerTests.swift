import Foundation
import Testing

@testable import QMP

/// Protocol edge cases, against an in-process fake QMP server.
@Suite("QMPClient against a fake server")
struct FakeServerTests {
  @Test("the greeting's version is exposed after the handshake")
  func greeting() async throws {
    let server = try FakeQMPServer { connection in
      connection.handshake()
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    #expect(client.version == QMPVersion(major: 7, minor: 2, micro: 0, package: "fake"))
    #expect(client.greeting.capabilities == ["oob"])
    #expect(await client.isConnected)
    await client.close()
  }

  @Test("a command whose reply never comes times out, and its late reply is dropped")
  func timeout() async throws {
    let server = try FakeQMPServer { connection in
      guard connection.handshake(), let lost = connection.readCommand() else { return }
      // Answer the lost command only once the next one arrives, i.e. too late.
      guard let next = connection.readCommand() else { return }
      connection.reply(to: lost, with: ["late": true])
      connection.reply(to: next, with: ["pong": true])
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    await #expect(throws: QMPError.timeout(command: "hang")) {
      try await client.execute("hang", timeout: .milliseconds(200))
    }
    let reply = try await client.execute("ping")
    #expect(reply == ["pong": true])
    #expect(await client.isConnected)
    await client.close()
  }

  @Test("the server closing the socket fails pending commands and finishes the events")
  func serverCloses() async throws {
    let server = try FakeQMPServer { connection in
      guard connection.handshake() else { return }
      connection.send(#"{"event": "RESET", "data": {"guest": true}}"#)
      _ = connection.readCommand()
      // Returning closes the connection without a reply.
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    await #expect(throws: QMPError.disconnected) {
      try await client.execute("never-answered")
    }
    let events = try #require(await remainingEvents(in: client.events))
    #expect(events.map(\.name) == ["RESET"])
    #expect(await client.isConnected == false)
    await #expect(throws: QMPError.disconnected) { try await client.execute("query-status") }
  }

  @Test(
    "a malformed or missing greeting fails the handshake",
    arguments: [
      "this is not JSON",
      #"{"hello": "world"}"#,
      #"{"QMP": {"capabilities": []}}"#,
      #"{"return": {}}"#,
      "",
    ])
  func malformedGreeting(greeting: String) async throws {
    let server = try FakeQMPServer { connection in
      // An empty string stands for closing the connection without any greeting.
      if !greeting.isEmpty {
        connection.send(greeting)
        connection.waitForClientToClose()
      }
    }
    defer { server.stop() }

    let error = await #expect(throws: QMPError.self) {
      try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    }
    guard case .handshakeFailed = error else {
      Issue.record("expected handshakeFailed, got \(String(describing: error))")
      return
    }
  }

  @Test("a server that never greets fails the handshake within the timeout")
  func silentServer() async throws {
    let server = try FakeQMPServer { connection in
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let error = await #expect(throws: QMPError.self) {
      try await QMPClient.connect(socketPath: server.socketPath, timeout: .milliseconds(300))
    }
    guard case .handshakeFailed = error else {
      Issue.record("expected handshakeFailed, got \(String(describing: error))")
      return
    }
  }

  @Test("a rejected qmp_capabilities fails the handshake")
  func rejectedCapabilities() async throws {
    let server = try FakeQMPServer { connection in
      connection.sendGreeting()
      guard let command = connection.readCommand() else { return }
      connection.replyError(to: command, class: "GenericError", description: "no")
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let error = await #expect(throws: QMPError.self) {
      try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    }
    guard case .handshakeFailed = error else {
      Issue.record("expected handshakeFailed, got \(String(describing: error))")
      return
    }
  }

  @Test("connecting to a socket nobody listens on fails with connectionFailed")
  func noServer() async throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/missing.sock"

    let error = await #expect(throws: QMPError.self) {
      try await QMPClient.connect(socketPath: path)
    }
    guard case .connectionFailed(let failedPath, _) = error else {
      Issue.record("expected connectionFailed, got \(String(describing: error))")
      return
    }
    #expect(failedPath == path)
  }

  @Test("connectWhenReady waits for a socket that appears later")
  func connectWhenReady() async throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }

    async let connecting = QMPClient.connectWhenReady(
      socketPath: directory + "/qmp.sock", timeout: .seconds(30))
    try await Task.sleep(for: .milliseconds(200))
    let server = try FakeQMPServer(directory: directory) { connection in
      connection.handshake()
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await connecting
    #expect(client.version.major == 7)
    await client.close()
  }

  @Test("connectWhenReady gives up with connectionFailed when the socket never appears")
  func connectWhenReadyGivesUp() async throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }

    let error = await #expect(throws: QMPError.self) {
      try await QMPClient.connectWhenReady(
        socketPath: directory + "/qmp.sock", timeout: .milliseconds(300))
    }
    guard case .connectionFailed = error else {
      Issue.record("expected connectionFailed, got \(String(describing: error))")
      return
    }
  }

  @Test("replies are matched to commands by id, even out of order")
  func outOfOrderReplies() async throws {
    let server = try FakeQMPServer { connection in
      guard connection.handshake(), let first = connection.readCommand(),
        let second = connection.readCommand()
      else { return }
      for command in [second, first] {
        connection.reply(to: command, with: ["echo": command["execute"] ?? nil])
      }
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    async let alpha = client.execute("alpha")
    async let beta = client.execute("beta")
    let (a, b) = try await (alpha, beta)
    #expect(a == ["echo": "alpha"])
    #expect(b == ["echo": "beta"])
    await client.close()
  }

  @Test("messages split across reads, and large ones, are reassembled")
  func framing() async throws {
    let big = String(repeating: "x", count: 1_000_000)
    let server = try FakeQMPServer { connection in
      guard connection.handshake(), let first = connection.readCommand() else { return }
      let id = first["id"]?.description ?? "null"
      connection.sendRaw(#"{"return": {"split": "#)
      Thread.sleep(forTimeInterval: 0.05)
      connection.sendRaw(#"true}, "id": \#(id)}\#r\#n\#r\#n"#)
      guard let second = connection.readCommand() else { return }
      connection.reply(to: second, with: .string(big))
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    #expect(try await client.execute("first") == ["split": true])
    #expect(try await client.execute("second").stringValue?.count == big.count)
    await client.close()
  }

  @Test("an error reply becomes commandFailed with its class and description")
  func errorReply() async throws {
    let server = try FakeQMPServer { connection in
      guard connection.handshake(), let command = connection.readCommand() else { return }
      connection.replyError(
        to: command, class: "DeviceNotFound", description: "Device 'cd9' not found")
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    await #expect(
      throws: QMPError.commandFailed(
        command: "eject", errorClass: "DeviceNotFound", description: "Device 'cd9' not found")
    ) {
      try await client.execute("eject", arguments: ["device": "cd9"])
    }
    await client.close()
  }

  @Test("typed execute encodes arguments and decodes the result")
  func typedExecute() async throws {
    struct Arguments: Encodable, Sendable {
      var path: String
    }
    struct Property: Decodable, Sendable, Equatable {
      var name: String
      var type: String
    }
    let server = try FakeQMPServer { connection in
      guard connection.handshake(), let command = connection.readCommand() else { return }
      let path = command["arguments"]?["path"] ?? nil
      connection.reply(to: command, with: [["name": path, "type": "child<container>"]])
      guard let bad = connection.readCommand() else { return }
      connection.reply(to: bad, with: "not a list")
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    let properties = try await client.execute(
      "qom-list", arguments: Arguments(path: "/machine"), as: [Property].self)
    #expect(properties == [Property(name: "/machine", type: "child<container>")])

    let error = await #expect(throws: QMPError.self) {
      try await client.execute("qom-list", as: [Property].self)
    }
    guard case .decoding = error else {
      Issue.record("expected a decoding error, got \(String(describing: error))")
      return
    }
    await client.close()
  }

  @Test("events reach every stream with their data and timestamp")
  func events() async throws {
    let server = try FakeQMPServer { connection in
      guard connection.handshake(), let command = connection.readCommand() else { return }
      connection.send(
        #"{"event": "JOB_STATUS_CHANGE", "data": {"id": "job0", "status": "ready"}, "#
          + #""timestamp": {"seconds": 1700000000, "microseconds": 500000}}"#)
      connection.reply(to: command)
      connection.send("garbage that is skipped")
      connection.send(
        #"{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}"#)
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    let second = await client.eventStream()
    _ = try await client.execute("trigger")

    for stream in [client.events, second] {
      let events = try #require(await remainingEvents(in: stream))
      try #require(events.count == 2)
      #expect(events[0].name == QMPEvent.Name.jobStatusChange)
      #expect(events[0].data == ["id": "job0", "status": "ready"])
      #expect(events[0].timestamp == Date(timeIntervalSince1970: 1_700_000_000.5))
      #expect(events[1].name == QMPEvent.Name.shutdown)
      #expect(events[1].data?["reason"] == "host-qmp-quit")
    }
    // Subscribing after the connection is gone gives a finished stream.
    #expect(await remainingEvents(in: client.eventStream()) == [])
  }

  @Test("close() fails pending commands with disconnected")
  func closeFailsPending() async throws {
    let server = try FakeQMPServer { connection in
      guard connection.handshake() else { return }
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    let pending = Task { try await client.execute("hang", timeout: .seconds(60)) }
    while await client.pendingCommandCount == 0 {
      try await Task.sleep(for: .milliseconds(10))
    }
    await client.close()
    await #expect(throws: QMPError.disconnected) { try await pending.value }
    await client.close()  // idempotent
  }

  @Test("cancelling the waiting task abandons its command")
  func cancellation() async throws {
    let server = try FakeQMPServer { connection in
      guard connection.handshake(), connection.readCommand() != nil,
        let next = connection.readCommand()
      else { return }
      connection.reply(to: next, with: "still fine")
      connection.waitForClientToClose()
    }
    defer { server.stop() }

    let client = try await QMPClient.connect(socketPath: server.socketPath, timeout: .seconds(30))
    let pending = Task { try await client.execute("hang", timeout: .seconds(60)) }
    while await client.pendingCommandCount == 0 {
      try await Task.sleep(for: .milliseconds(10))
    }
    pending.cancel()
    await #expect(throws: CancellationError.self) { try await pending.value }
    #expect(try await client.execute("next") == "still fine")
    await client.close()
  }
}
