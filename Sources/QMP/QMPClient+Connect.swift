import Foundation
import Logging

extension QMPClient {
  /// Connects to the QMP socket at `socketPath`, reads the greeting and negotiates
  /// capabilities (`qmp_capabilities`), all within `timeout`. Makes one connection attempt.
  ///
  /// - Throws: ``QMPError/connectionFailed(path:reason:)`` if the socket cannot be connected
  ///   to, ``QMPError/handshakeFailed(_:)`` if no valid greeting arrives in time (for instance
  ///   because another client is attached) or the negotiation fails.
  public static func connect(
    socketPath: String, timeout: Duration = .seconds(5), logger: Logger? = nil
  ) async throws -> QMPClient {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    let transport: QMPTransport
    do {
      transport = try await QMPTransport.connect(socketPath: socketPath, timeout: timeout)
    } catch let failure as QMPTransport.ConnectFailure {
      throw QMPError.connectionFailed(path: socketPath, reason: failure.reason)
    }
    return try await handshake(
      transport: transport, socketPath: socketPath, deadline: deadline, clock: clock,
      logger: logger)
  }

  /// Like ``connect(socketPath:timeout:logger:)``, but while the socket does not exist yet or
  /// refuses connections (QEMU is still starting up), tries again every `retryInterval`
  /// until `timeout` has passed.
  public static func connectWhenReady(
    socketPath: String, timeout: Duration = .seconds(30),
    retryInterval: Duration = .milliseconds(50), logger: Logger? = nil
  ) async throws -> QMPClient {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
      let remaining = max(deadline - clock.now, .milliseconds(1))
      do {
        let transport = try await QMPTransport.connect(socketPath: socketPath, timeout: remaining)
        return try await handshake(
          transport: transport, socketPath: socketPath, deadline: deadline, clock: clock,
          logger: logger)
      } catch let failure as QMPTransport.ConnectFailure {
        guard failure.isRetryable, clock.now.advanced(by: retryInterval) < deadline else {
          throw QMPError.connectionFailed(path: socketPath, reason: failure.reason)
        }
        try await Task.sleep(for: retryInterval)
      }
    }
  }

  /// Reads the greeting, starts the reader and negotiates capabilities.
  private static func handshake(
    transport: QMPTransport, socketPath: String, deadline: ContinuousClock.Instant,
    clock: ContinuousClock, logger: Logger?
  ) async throws -> QMPClient {
    let logger =
      logger ?? Logger(label: "kaze.qmp", factory: { _ in SwiftLogNoOpLogHandler() })
    var lines = transport.lines.makeAsyncIterator()

    // Read the greeting; closing the transport at the deadline ends the wait.
    let timer = Task {
      do { try await Task.sleep(until: deadline, clock: clock) } catch { return }
      await transport.close()
    }
    let greetingLine: Data?
    do {
      greetingLine = try await lines.next()
    } catch {
      timer.cancel()
      await transport.close()
      throw QMPError.handshakeFailed("connection failed before the greeting: \(error)")
    }
    timer.cancel()
    guard let greetingLine else {
      await transport.close()
      if clock.now >= deadline {
        throw QMPError.handshakeFailed(
          "no greeting in time (is another client connected to \(socketPath)?)")
      }
      throw QMPError.handshakeFailed("connection closed before the greeting")
    }
    let greeting: QMPGreeting
    do {
      greeting = try QMPGreeting(message: JSONValue(parsing: greetingLine))
    } catch {
      await transport.close()
      if let error = error as? QMPError, case .handshakeFailed = error { throw error }
      throw QMPError.handshakeFailed(
        "malformed greeting \(String(decoding: greetingLine.prefix(200), as: UTF8.self))")
    }
    logger.debug(
      "QMP greeting", metadata: ["socket": "\(socketPath)", "qemu": "\(greeting.version)"])

    let client = QMPClient(
      transport: transport, greeting: greeting, socketPath: socketPath, logger: logger)
    // The reader holds the client weakly: dropping the client closes the connection.
    Task { [weak client, lines] in
      var lines = lines
      do {
        while let line = try await lines.next() {
          guard let client else { return }
          await client.receive(line)
        }
        await client?.connectionLost(reason: "closed by QEMU")
      } catch {
        await client?.connectionLost(reason: "\(error)")
      }
    }

    do {
      let remaining = max(deadline - clock.now, .milliseconds(1))
      _ = try await client.execute("qmp_capabilities", timeout: remaining)
    } catch {
      await client.close()
      throw QMPError.handshakeFailed("qmp_capabilities: \(error)")
    }
    return client
  }
}
