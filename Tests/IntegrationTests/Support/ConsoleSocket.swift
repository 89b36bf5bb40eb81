import Foundation
import HummingbirdWSClient
import KazeModel
import Logging
import NIOCore
import NIOWebSocket

/// A test's side of a console websocket: connects with a ticket, optionally types a line once
/// some text has arrived, and collects what arrives until `done` is in it (or `timeout`).
enum ConsoleSocket {
  struct Session {
    var received: String
    var closeCode: WebSocketErrorCode?
    var closeReason: String?
  }

  static func url(_ ticket: ConsoleTicket, askedAt server: String) -> String {
    "ws://\(ticket.address ?? server)\(ticket.path)"
  }

  static func session(
    _ url: String, typing line: String? = nil, after ready: String? = nil,
    until done: String, timeout: Duration = .seconds(60)
  ) async throws -> Session {
    let text = Collected()
    let close = try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
      group.addTask {
        try await WebSocketClient.connect(url: url, logger: Logger(label: "kaze.test.ws")) {
          inbound, outbound, _ in
          var typed = line == nil
          for try await frame in inbound {
            text.append(String(buffer: frame.data))
            let seen = text.value
            if !typed, let line, ready.map({ seen.contains($0) }) ?? true {
              try await outbound.write(.binary(ByteBuffer(string: line)))
              typed = true
            }
            if typed && seen.contains(done) {
              try await outbound.close(.normalClosure, reason: nil)
              return
            }
          }
        }
      }
      group.addTask {
        try await Task.sleep(for: timeout)
        return nil
      }
      defer { group.cancelAll() }
      return try await group.next() ?? nil
    }
    return Session(received: text.value, closeCode: close?.closeCode, closeReason: close?.reason)
  }
}

private final class Collected: @unchecked Sendable {
  private let lock = NSLock()
  private var text = ""
  var value: String { lock.withLock { text } }
  func append(_ more: String) { lock.withLock { text += more } }
}
