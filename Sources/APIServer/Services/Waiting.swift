import Foundation
import KazeModel

enum Waiting {
  /// Polls `check` until it returns a value, throws, or `timeout` passes (then a 504 naming
  /// what was awaited; the operation itself carries on in the background).
  static func until<T: Sendable>(
    timeout: Duration, what: String, every interval: Duration = .milliseconds(50),
    _ check: () async throws -> T?
  ) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
      if let value = try await check() { return value }
      if clock.now >= deadline {
        throw KazeError(.timeout, "timed out waiting for \(what); it goes on in the background")
      }
      try await Task.sleep(for: interval)
    }
  }
}
