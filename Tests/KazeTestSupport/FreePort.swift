import Foundation
import KazeModel

#if canImport(Glibc)
  import Glibc
#endif

/// Loopback TCP ports for test servers.
public enum FreePort {
  /// A port that was free a moment ago on `host`.
  public static func next(host: String = "127.0.0.1") throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host)
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
      }
    }
    guard bound else { throw KazeError(.unavailable, "cannot find a free port on \(host)") }
    return Int(UInt16(bigEndian: address.sin_port))
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
