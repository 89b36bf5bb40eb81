import Foundation
import KazeModel

#if canImport(Glibc)
  import Glibc
#endif

/// Loopback TCP ports for test servers.
public enum FreePort {
  /// A port that is free on `host`, taken from 20000-32767: below the kernel's ephemeral range
  /// (32768-60999), so an outgoing connection cannot grab it between this check and the
  /// server's own bind. Each call moves on to the next port.
  public static func next(host: String = "127.0.0.1") throws -> Int {
    for _ in 0..<2000 {
      let port = cursor.withLock { cursor -> Int in
        cursor = cursor >= 32_767 ? 20_000 : cursor + 1
        return cursor
      }
      if canBind(host: host, port: port) { return port }
    }
    throw KazeError(.unavailable, "no free port on \(host) between 20000 and 32767")
  }

  private static let cursor = Cursor(20_000 + Int(getpid() % 6000) * 2)

  private static func canBind(host: String, port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host)
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }
}

/// A counter shared by every caller in the process.
final class Cursor: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Int

  init(_ value: Int) { self.value = value }

  func withLock<T>(_ body: (inout Int) -> T) -> T {
    lock.lock()
    defer { lock.unlock() }
    return body(&value)
  }
}

/// Polls `check` until it gives a value, or fails naming `what`. Never asserts how long it took.
@discardableResult
public func eventually<T>(
  _ what: String, timeout: Duration, every interval: Duration = .milliseconds(100),
  _ check: () async throws -> T?
) async throws -> T {
  let clock = ContinuousClock()
  let deadline = clock.now + timeout
  while true {
    if let value = try await check() { return value }
    if clock.now >= deadline { throw KazeError(.timeout, "timed out waiting for \(what)") }
    try await Task.sleep(for: interval)
  }
}
