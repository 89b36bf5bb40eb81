import Foundation
import KazeModel
import Logging
import QMP

/// Kaze's view of one running QEMU through QMP: the few operations the node agent needs, and a
/// record of how the guest last shut down, so that an exit can be told apart from a crash.
public actor VMMonitor {
  public enum ShutdownCause: Sendable, Equatable {
    /// The guest powered itself off (or acted on the power button).
    case guest
    /// QEMU was asked to quit, or got a signal from the host.
    case host(String)
  }

  private let client: QMPClient
  public nonisolated let socketPath: String
  private var shutdown: ShutdownCause?
  private var listener: Task<Void, Never>?
  private var closedContinuation: AsyncStream<Void>.Continuation?
  /// Yields once when the QMP connection ends (QEMU exited or closed the socket).
  public nonisolated let closed: AsyncStream<Void>

  private init(client: QMPClient, socketPath: String) {
    self.client = client
    self.socketPath = socketPath
    let (stream, continuation) = AsyncStream<Void>.makeStream()
    self.closed = stream
    self.closedContinuation = continuation
  }

  /// Connects to a QEMU's QMP socket, retrying while the socket is not there yet.
  public static func connect(
    socketPath: String, timeout: Duration = .seconds(10), logger: Logger
  )
    async throws -> VMMonitor
  {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var lastError: (any Error)?
    while clock.now < deadline {
      do {
        let client = try await QMPClient.connect(
          socketPath: socketPath, timeout: .seconds(3), logger: logger)
        let monitor = VMMonitor(client: client, socketPath: socketPath)
        await monitor.startListening()
        return monitor
      } catch {
        lastError = error
        try await Task.sleep(for: .milliseconds(50))
      }
    }
    throw KazeError(
      .timeout, "cannot reach QEMU's monitor at \(socketPath)",
      cause: lastError.map { "\($0)" })
  }

  private func startListening() {
    let events = client.events
    listener = Task { [weak self] in
      for await event in events {
        await self?.observe(event)
      }
      await self?.connectionEnded()
    }
  }

  private func observe(_ event: QMPEvent) {
    guard event.name == "SHUTDOWN" else { return }
    let guest = event.data?.objectValue?["guest"]?.boolValue ?? false
    let reason = event.data?.objectValue?["reason"]?.stringValue ?? "unknown"
    shutdown = guest ? .guest : .host(reason)
  }

  private func connectionEnded() {
    closedContinuation?.yield()
    closedContinuation?.finish()
    closedContinuation = nil
  }

  /// How QEMU announced its shutdown, if it did (a killed QEMU announces nothing).
  public var shutdownCause: ShutdownCause? { shutdown }

  public func isRunning() async throws -> Bool {
    try await wrap("query-status") { try await client.queryStatus().running }
  }

  public func status() async throws -> String {
    try await wrap("query-status") { try await client.queryStatus().status }
  }

  public func powerdown() async throws {
    try await wrap("system_powerdown") { try await client.systemPowerdown() }
  }

  public func pause() async throws { try await wrap("stop") { try await client.stop() } }

  public func resume() async throws { try await wrap("cont") { try await client.cont() } }

  public func reset() async throws {
    try await wrap("system_reset") { try await client.systemReset() }
  }

  public func quit() async throws { try await wrap("quit") { try await client.quit() } }

  /// Grows a disk of the running guest; the guest sees the new size at once.
  public func resize(node: String, sizeBytes: Int64) async throws {
    try await wrap("block_resize") {
      _ = try await client.execute(
        "block_resize",
        arguments: .object(["node-name": .string(node), "size": .int(sizeBytes)]))
    }
  }

  /// Runs any QMP command; the typed operations above and in extensions use it.
  @discardableResult
  func command(_ name: String, _ arguments: JSONValue?) async throws -> JSONValue {
    try await wrap(name) { try await client.execute(name, arguments: arguments) }
  }

  public func close() async {
    listener?.cancel()
    await client.close()
  }

  private func wrap<T: Sendable>(_ command: String, _ body: () async throws -> T) async throws -> T
  {
    do {
      return try await body()
    } catch let error as KazeError {
      throw error
    } catch {
      throw KazeError(.unavailable, "QEMU monitor command \(command) failed", cause: "\(error)")
    }
  }
}

extension VMMonitor {
  /// Bytes the guest has read and written on all its disks since QEMU started
  /// (`query-blockstats`, the devices' own counters).
  public func blockStats() async throws -> (read: UInt64, written: UInt64) {
    let answer = try await command("query-blockstats", nil)
    var read: UInt64 = 0
    var written: UInt64 = 0
    guard case .array(let devices) = answer else { return (0, 0) }
    for device in devices {
      let stats = device["stats"]
      read += UInt64(max(0, stats?["rd_bytes"]?.intValue ?? 0))
      written += UInt64(max(0, stats?["wr_bytes"]?.intValue ?? 0))
    }
    return (read, written)
  }
}
