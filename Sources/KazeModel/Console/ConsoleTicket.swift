import Foundation

/// Which of a VM's consoles a ticket opens.
public enum ConsoleKind: String, Codable, Sendable, CaseIterable {
  /// The serial port, both ways, as text.
  case serial
  /// The VGA display over VNC (RFB), for noVNC.
  case vnc
}

/// A short-lived, one-use permission to open one console of one VM through the websocket of the
/// node that runs it. Console sockets are never reachable any other way.
public struct ConsoleTicket: Codable, Sendable, Equatable {
  public var kind: ConsoleKind
  public var vm: String
  /// The node whose kazed serves the websocket (the one running the VM).
  public var node: String
  /// That node's API address when it is not the node that answered; nil: the same address.
  public var address: String?
  /// The websocket's path, ticket included (`/api/v1/vms/NAME/console/ws?ticket=...`).
  public var path: String
  public var expiresAt: Date

  public init(
    kind: ConsoleKind, vm: String, node: String, address: String? = nil, path: String,
    expiresAt: Date
  ) {
    self.kind = kind
    self.vm = vm
    self.node = node
    self.address = address
    self.path = path
    self.expiresAt = expiresAt
  }
}
