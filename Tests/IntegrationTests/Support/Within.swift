import Foundation

/// Resumes a continuation once, whoever comes first.
final class FirstAnswer<T: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var continuation: CheckedContinuation<T?, Never>?

  init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = continuation }

  func resume(_ value: T?) {
    lock.withLock {
      continuation?.resume(returning: value)
      continuation = nil
    }
  }
}

/// The value of `body`, or nil if it throws or takes longer than `limit`. A late request is
/// cancelled but not waited for: a client that ignores cancellation cannot hold the caller up,
/// and one that honours it frees its connection (abandoned requests would otherwise queue up
/// behind the client's per-server connection limit while a test polls).
func within<T: Sendable>(
  _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
) async -> T? {
  await withCheckedContinuation { continuation in
    let first = FirstAnswer(continuation)
    let work = Task { first.resume(try? await body()) }
    Task {
      try? await Task.sleep(for: limit)
      first.resume(nil)
      work.cancel()
    }
  }
}
