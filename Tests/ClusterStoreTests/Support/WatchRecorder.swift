import ClusterStore
import Foundation

/// Consumes a watch stream in the background and records what arrives, so that tests can wait
/// for events with a timeout instead of blocking on the stream.
final class WatchRecorder: Sendable {
  private struct State {
    var batches: [[WatchEvent]] = []
    var error: (any Error)?
    var isFinished = false
  }

  private let state: Locked<State>
  private let consumer: Task<Void, Never>

  init(_ stream: AsyncThrowingStream<[WatchEvent], Error>) {
    let state = Locked(State())
    self.state = state
    consumer = Task {
      do {
        for try await batch in stream {
          state.withLock { $0.batches.append(batch) }
        }
      } catch {
        state.withLock { $0.error = error }
      }
      state.withLock { $0.isFinished = true }
    }
  }

  deinit { consumer.cancel() }

  var batches: [[WatchEvent]] { state.withLock { $0.batches } }
  var events: [WatchEvent] { batches.flatMap { $0 } }
  var error: (any Error)? { state.withLock { $0.error } }
  var isFinished: Bool { state.withLock { $0.isFinished } }

  /// Waits until at least `count` events arrived and returns all events so far.
  @discardableResult
  func waitForEvents(_ count: Int, timeout: Duration = .seconds(15)) async throws -> [WatchEvent] {
    try await eventually("\(count) watch events arrived (have \(events.count))", timeout: timeout) {
      events.count >= count || isFinished
    }
    return events
  }

  /// Waits until the stream ended, normally or with an error.
  func waitUntilFinished() async throws {
    try await eventually("the watch stream finished") { isFinished }
  }

  /// Stops consuming: the stream's consumer task is cancelled, as when a caller stops iterating.
  func stop() {
    consumer.cancel()
  }
}

/// A value behind a lock, for the test helpers.
final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) {
    self.value = value
  }

  func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
