import Foundation
import Logging

/// An asynchronous client of the QEMU Machine Protocol over a Unix socket.
///
/// ```swift
/// let qmp = try await QMPClient.connect(socketPath: "/run/kaze/vm1/qmp.sock")
/// let status = try await qmp.queryStatus()
/// for await event in qmp.events where event.name == QMPEvent.Name.shutdown { ... }
/// ```
///
/// QEMU serves one QMP client per socket at a time. Connecting again after the previous
/// client went away (QEMU started with `-qmp unix:PATH,server=on,wait=off`) is how a
/// restarted daemon reattaches to a running VM.
///
/// Commands may be issued from several tasks at once: each carries an `id` that its reply
/// echoes. When the connection is lost or ``close()`` is called, pending commands fail with
/// ``QMPError/disconnected`` and every event stream finishes.
public actor QMPClient {
  /// The greeting QEMU sent on connect.
  public nonisolated let greeting: QMPGreeting
  /// The socket this client is connected to.
  public nonisolated let socketPath: String
  /// Events received since the handshake, in order.
  ///
  /// This stream is meant for a single consumer; it keeps the newest
  /// ``defaultEventBufferSize`` events nobody has read yet. For more consumers, call
  /// ``eventStream(bufferingPolicy:)``. Cancelling the task that iterates a stream ends that
  /// stream for good.
  public nonisolated let events: AsyncStream<QMPEvent>
  /// Whether the connection is still up.
  public private(set) var isConnected = true

  /// The QEMU version from the greeting.
  public nonisolated var version: QMPVersion { greeting.version }

  /// How many unread events a stream keeps by default before dropping the oldest.
  public static let defaultEventBufferSize = 1024

  private let transport: QMPTransport
  private let logger: Logger
  private var nextCommandID: Int64 = 1
  private var pending: [Int64: PendingCommand] = [:]
  private var subscribers: [Int: AsyncStream<QMPEvent>.Continuation] = [:]
  private var nextSubscriberID = 1

  private struct PendingCommand {
    var command: String
    var continuation: CheckedContinuation<JSONValue, any Error>
    var timeoutTask: Task<Void, Never>
  }

  init(
    transport: QMPTransport, greeting: QMPGreeting, socketPath: String, logger: Logger
  ) {
    self.transport = transport
    self.greeting = greeting
    self.socketPath = socketPath
    self.logger = logger
    let (events, continuation) = AsyncStream.makeStream(
      of: QMPEvent.self, bufferingPolicy: .bufferingNewest(Self.defaultEventBufferSize))
    self.events = events
    self.subscribers[0] = continuation
  }

  deinit {
    transport.closeSoon()
    for continuation in subscribers.values {
      continuation.finish()
    }
  }

  // MARK: Closing

  /// Closes the connection. Pending commands fail with ``QMPError/disconnected`` and event
  /// streams finish. QEMU keeps running and accepts a new client.
  public func close() async {
    connectionLost(reason: "closed by client")
    await transport.close()
  }

  // MARK: Commands

  /// Runs `command` and returns its `return` value.
  ///
  /// - Throws: ``QMPError/commandFailed(command:errorClass:description:)`` if QEMU answers
  ///   with an error, ``QMPError/timeout(command:)`` if no reply arrives within `timeout`,
  ///   ``QMPError/disconnected`` if the connection is or gets closed.
  public func execute(
    _ command: String, arguments: JSONValue? = nil, timeout: Duration = .seconds(10)
  ) async throws -> JSONValue {
    try await send(command, arguments: arguments, timeout: timeout)
  }

  /// Runs `command` with `arguments` (encoded as a JSON object) and decodes its `return`
  /// value as `Result`.
  public func execute<Result: Decodable & Sendable>(
    _ command: String, arguments: (some Encodable & Sendable)?, as: Result.Type,
    timeout: Duration = .seconds(10)
  ) async throws -> Result {
    let value = try await send(command, arguments: arguments, timeout: timeout)
    return try value.decode(as: Result.self)
  }

  /// Runs `command` without arguments and decodes its `return` value as `Result`.
  public func execute<Result: Decodable & Sendable>(
    _ command: String, as: Result.Type, timeout: Duration = .seconds(10)
  ) async throws -> Result {
    try await execute(command, arguments: JSONValue?.none, as: Result.self, timeout: timeout)
  }

  private func send<Arguments: Encodable & Sendable>(
    _ command: String, arguments: Arguments?, timeout: Duration
  ) async throws -> JSONValue {
    guard isConnected else { throw QMPError.disconnected }
    try Task.checkCancellation()
    let id = nextCommandID
    nextCommandID += 1
    let line = try QMPRequest(execute: command, arguments: arguments, id: id).encodedLine()

    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let timeoutTask = Task { [weak self] in
          do { try await Task.sleep(for: timeout) } catch { return }
          await self?.finishPending(id, throwing: QMPError.timeout(command: command))
        }
        pending[id] = PendingCommand(
          command: command, continuation: continuation, timeoutTask: timeoutTask)
        logger.trace(
          "QMP send", metadata: ["line": "\(String(decoding: line.dropLast(), as: UTF8.self))"])
        transport.send(line) { [weak self] error in
          Task { await self?.writeFailed(id, error: error) }
        }
      }
    } onCancel: {
      Task { [weak self] in await self?.finishPending(id, throwing: CancellationError()) }
    }
  }

  /// How many commands await their reply (for tests).
  var pendingCommandCount: Int { pending.count }

  private func finishPending(_ id: Int64, throwing error: any Error) {
    guard let entry = pending.removeValue(forKey: id) else { return }
    entry.timeoutTask.cancel()
    if case QMPError.timeout = error {
      logger.warning("QMP command timed out", metadata: ["command": "\(entry.command)"])
    }
    entry.continuation.resume(throwing: error)
  }

  private func writeFailed(_ id: Int64, error: any Error) {
    logger.debug("QMP write failed", metadata: ["error": "\(error)"])
    finishPending(id, throwing: QMPError.disconnected)
  }

  // MARK: Receiving

  func receive(_ line: Data) {
    logger.trace("QMP receive", metadata: ["line": "\(String(decoding: line, as: UTF8.self))"])
    let message: JSONValue
    do {
      message = try JSONValue(parsing: line)
    } catch {
      logger.warning(
        "ignoring malformed QMP message",
        metadata: ["line": "\(String(decoding: line.prefix(200), as: UTF8.self))"])
      return
    }
    switch QMPIncomingMessage(message) {
    case .success(let id, let result):
      takePending(id)?.continuation.resume(returning: result)
    case .failure(let id, let errorClass, let description):
      guard let entry = takePending(id) else { return }
      entry.continuation.resume(
        throwing: QMPError.commandFailed(
          command: entry.command, errorClass: errorClass, description: description))
    case .event(let event):
      for continuation in subscribers.values {
        continuation.yield(event)
      }
    case .unknown(let message):
      logger.warning("ignoring unexpected QMP message", metadata: ["message": "\(message)"])
    }
  }

  /// Removes the command a reply belongs to; replies to timed-out commands find nothing.
  private func takePending(_ id: JSONValue?) -> PendingCommand? {
    guard let key = id?.intValue, let entry = pending.removeValue(forKey: key) else {
      logger.debug("dropping QMP reply to no pending command", metadata: ["id": "\(id ?? nil)"])
      return nil
    }
    entry.timeoutTask.cancel()
    return entry
  }

  func connectionLost(reason: String) {
    guard isConnected else { return }
    isConnected = false
    logger.debug("QMP disconnected", metadata: ["socket": "\(socketPath)", "reason": "\(reason)"])
    let failed = pending
    pending.removeAll()
    for entry in failed.values {
      entry.timeoutTask.cancel()
      entry.continuation.resume(throwing: QMPError.disconnected)
    }
    let streams = subscribers
    subscribers.removeAll()
    for continuation in streams.values {
      continuation.finish()
    }
    transport.closeSoon()
  }

  // MARK: Events

  /// A new stream of the events received from now on, independent of ``events`` and of
  /// other streams. It finishes when the connection closes.
  public func eventStream(
    bufferingPolicy: AsyncStream<QMPEvent>.Continuation.BufferingPolicy = .bufferingNewest(
      QMPClient.defaultEventBufferSize)
  ) -> AsyncStream<QMPEvent> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: QMPEvent.self, bufferingPolicy: bufferingPolicy)
    guard isConnected else {
      continuation.finish()
      return stream
    }
    let id = nextSubscriberID
    nextSubscriberID += 1
    subscribers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.removeSubscriber(id) }
    }
    return stream
  }

  private func removeSubscriber(_ id: Int) {
    subscribers[id] = nil
  }
}
