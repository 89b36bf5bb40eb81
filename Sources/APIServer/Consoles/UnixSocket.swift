import NIOCore
import NIOPosix

/// A byte stream to a socket QEMU listens on in a VM's run folder (serial port, VNC).
enum UnixSocket {
  typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

  static func connect(_ path: String) async throws -> Connection {
    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connect(unixDomainSocketPath: path) { channel in
        channel.eventLoop.makeCompletedFuture {
          try Connection(wrappingChannelSynchronously: channel)
        }
      }
  }
}
