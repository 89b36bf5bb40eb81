/// Errors thrown by ``QMPClient``.
public enum QMPError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The Unix socket at `path` could not be connected to.
  case connectionFailed(path: String, reason: String)
  /// The server's greeting was missing or malformed, or `qmp_capabilities` failed.
  case handshakeFailed(String)
  /// QEMU answered `command` with an error reply.
  case commandFailed(command: String, errorClass: String, description: String)
  /// No reply to `command` arrived in time. A reply arriving later is dropped.
  case timeout(command: String)
  /// The connection is closed, or was lost while the command was pending.
  case disconnected
  /// A message or a reply could not be encoded or decoded.
  case decoding(String)

  public var description: String {
    switch self {
    case .connectionFailed(let path, let reason):
      return "QMP: cannot connect to \(path): \(reason)"
    case .handshakeFailed(let reason):
      return "QMP: handshake failed: \(reason)"
    case .commandFailed(let command, let errorClass, let description):
      return "QMP: \(command) failed (\(errorClass)): \(description)"
    case .timeout(let command):
      return "QMP: timed out waiting for the reply to \(command)"
    case .disconnected:
      return "QMP: disconnected"
    case .decoding(let reason):
      return "QMP: decoding error: \(reason)"
    }
  }
}
