import Foundation
import KazeModel

/// The console tickets this node gave out: random, bound to one VM and one console, good for
/// one websocket within `lifetime`. Kept in memory: a ticket is only ever redeemed on the node
/// that issued it (the node running the VM), and a restarted kazed simply asks for a new one.
actor ConsoleTickets {
  private struct Grant {
    var vmID: UUID
    var kind: ConsoleKind
    var expires: ContinuousClock.Instant
  }

  let lifetime: Duration
  private var grants: [String: Grant] = [:]

  init(lifetime: Duration = .seconds(30)) {
    self.lifetime = lifetime
  }

  /// A new ticket and when it stops working.
  func issue(vmID: UUID, kind: ConsoleKind) -> (token: String, expiresAt: Date) {
    let now = ContinuousClock.now
    grants = grants.filter { $0.value.expires > now }
    var generator = SystemRandomNumberGenerator()
    let token = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }
      .map { String(repeating: "0", count: 16 - $0.count) + $0 }.joined()
    grants[token] = Grant(vmID: vmID, kind: kind, expires: now + lifetime)
    return (token, Date().addingTimeInterval(lifetime.seconds))
  }

  /// Uses up a ticket; throws `.permissionDenied` unless it is live and for this VM and console.
  func redeem(_ token: String?, vmID: UUID, kind: ConsoleKind) throws {
    guard let token, !token.isEmpty else {
      throw KazeError(
        .permissionDenied,
        "a console websocket needs a ticket: POST /api/v1/vms/NAME/\(kind.ticketPath) and "
          + "connect with ?ticket=… within \(Int(lifetime.seconds)) s")
    }
    let grant = grants.removeValue(forKey: token)
    guard let grant, grant.expires > ContinuousClock.now, grant.vmID == vmID, grant.kind == kind
    else {
      throw KazeError(
        .permissionDenied,
        "the console ticket is unknown, already used, expired or for another console; "
          + "ask for a new one (each works once, within \(Int(lifetime.seconds)) s)")
    }
  }
}

extension ConsoleKind {
  /// Where a ticket for this console is asked for, under /api/v1/vms/NAME/.
  var ticketPath: String { self == .serial ? "console/ticket" : "vnc/ticket" }
  /// The websocket it opens, under /api/v1/vms/NAME/.
  var socketPath: String { self == .serial ? "console/ws" : "vnc/ws" }
}
