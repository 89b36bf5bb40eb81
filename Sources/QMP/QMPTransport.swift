import Foundation
import NIOCore
import NIOPosix

/// A connected Unix socket carrying QMP lines, built on SwiftNIO.
///
/// Received lines come out of ``lines``, which finishes when the peer closes the connection
/// (or throws on an I/O error). Writes are thread-safe and go out in call order.
final class QMPTransport: Sendable {
  let lines: AsyncThrowingStream<Data, any Error>
  private let channel: any Channel

  private init(channel: any Channel, lines: AsyncThrowingStream<Data, any Error>) {
    self.channel = channel
    self.lines = lines
  }

  static func connect(
    socketPath: String, timeout: Duration,
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
  ) async throws -> QMPTransport {
    let (lines, continuation) = AsyncThrowingStream.makeStream(
      of: Data.self, throwing: (any Error).self)
    let bootstrap = ClientBootstrap(group: group)
      .connectTimeout(TimeAmount(timeout))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(QMPLineDecoder()),
            QMPLineHandler(continuation: continuation))
        }
      }
    do {
      let channel = try await bootstrap.connect(unixDomainSocketPath: socketPath).get()
      return QMPTransport(channel: channel, lines: lines)
    } catch {
      continuation.finish()
      throw ConnectFailure(error)
    }
  }

  /// Why a connection attempt failed.
  struct ConnectFailure: Error {
    var reason: String
    /// The socket does not exist yet or nobody listens on it yet: QEMU may be starting.
    var isRetryable: Bool

    init(_ error: any Error) {
      reason = "\(error)"
      if let error = error as? IOError {
        isRetryable = error.errnoCode == ENOENT || error.errnoCode == ECONNREFUSED
      } else {
        isRetryable = false
      }
    }
  }

  /// Queues `data` for writing; `onFailure` is called if the write fails.
  func send(_ data: Data, onFailure: @escaping @Sendable (any Error) -> Void) {
    var buffer = channel.allocator.buffer(capacity: data.count)
    buffer.writeBytes(data)
    channel.writeAndFlush(buffer).whenFailure(onFailure)
  }

  /// Closes the socket; ``lines`` then finishes. Safe to call more than once.
  func close() async {
    try? await channel.close()
  }

  /// Starts closing the socket without waiting.
  func closeSoon() {
    channel.close(promise: nil)
  }
}

/// Forwards decoded lines into an `AsyncThrowingStream`.
private final class QMPLineHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer

  private let continuation: AsyncThrowingStream<Data, any Error>.Continuation

  init(continuation: AsyncThrowingStream<Data, any Error>.Continuation) {
    self.continuation = continuation
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let line = unwrapInboundIn(data)
    continuation.yield(Data(line.readableBytesView))
  }

  func channelInactive(context: ChannelHandlerContext) {
    continuation.finish()
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    continuation.finish(throwing: error)
    context.close(promise: nil)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    continuation.finish()
  }
}
