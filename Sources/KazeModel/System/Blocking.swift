import Foundation

/// Runs blocking work (waiting for a child process, file copies) on a thread of its own, so
/// that the Swift concurrency pool (two threads on a two-core node) never stalls on it.
public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread.detachNewThread {
      continuation.resume(with: Result { try work() })
    }
  }
}
