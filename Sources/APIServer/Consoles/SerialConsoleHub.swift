import Foundation
import Logging
import NIOCore

/// QEMU serves a VM's serial socket to one client at a time, so kazed is that client: one
/// connection per VM while anyone watches, its output copied to every viewer and every viewer's
/// keystrokes written to it. The connection closes when the last viewer leaves; it ends for all
/// viewers when QEMU goes away.
actor SerialConsoleHub {
  /// What a viewer gets: the console's output, and a way to type into it.
  struct Viewer: Sendable {
    let id: UUID
    let output: AsyncStream<ByteBuffer>
    let input: AsyncStream<ByteBuffer>.Continuation
  }

  private final class Line {
    let generation = UUID()
    let input: AsyncStream<ByteBuffer>.Continuation
    var viewers: [UUID: AsyncStream<ByteBuffer>.Continuation] = [:]
    var task: Task<Void, Never>?

    init(input: AsyncStream<ByteBuffer>.Continuation) { self.input = input }
  }

  private var lines: [String: Line] = [:]
  private let logger: Logger

  init(logger: Logger = Logger(label: "kaze.console")) {
    self.logger = logger
  }

  /// Joins the console on `socket`, connecting to QEMU if nobody watches it yet.
  func attach(socket: String) -> Viewer {
    let line = lines[socket] ?? open(socket)
    let (output, continuation) = AsyncStream.makeStream(
      of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(256))
    let id = UUID()
    line.viewers[id] = continuation
    return Viewer(id: id, output: output, input: line.input)
  }

  func detach(socket: String, viewer: UUID) {
    guard let line = lines[socket] else { return }
    line.viewers.removeValue(forKey: viewer)?.finish()
    if line.viewers.isEmpty {
      lines[socket] = nil
      line.task?.cancel()
      line.input.finish()
    }
  }

  private func open(_ socket: String) -> Line {
    let (input, inputContinuation) = AsyncStream.makeStream(of: ByteBuffer.self)
    let line = Line(input: inputContinuation)
    let generation = line.generation
    let logger = self.logger
    line.task = Task {
      do {
        let connection = try await UnixSocket.connect(socket)
        try await connection.executeThenClose { inbound, outbound in
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
              for await bytes in input { try await outbound.write(bytes) }
            }
            group.addTask {
              for try await bytes in inbound { await self.broadcast(bytes, socket, generation) }
            }
            _ = try await group.next()
            group.cancelAll()
          }
        }
      } catch {
        logger.debug("serial console \(socket) ended: \(error)")
      }
      self.ended(socket, generation)
    }
    lines[socket] = line
    return line
  }

  private func broadcast(_ bytes: ByteBuffer, _ socket: String, _ generation: UUID) {
    guard let line = lines[socket], line.generation == generation else { return }
    for viewer in line.viewers.values { viewer.yield(bytes) }
  }

  /// QEMU closed the socket (or it was never there): every viewer's output ends.
  private func ended(_ socket: String, _ generation: UUID) {
    guard let line = lines[socket], line.generation == generation else { return }
    lines[socket] = nil
    for viewer in line.viewers.values { viewer.finish() }
    line.input.finish()
  }
}
