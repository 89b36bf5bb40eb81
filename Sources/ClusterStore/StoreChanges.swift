import Foundation
import KazeModel

extension ClusterStore {
  /// A signal each time something under one of `prefixes` changes, for reconcilers that read
  /// the whole state again on every signal. Watch errors (a member restarting, a compacted
  /// revision) never end the stream: the watch is opened again and a signal is sent, so the
  /// consumer re-lists and misses nothing. Ends when the consuming task is cancelled.
  public func changeSignals(_ prefixes: [String]) -> AsyncStream<Void> {
    let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let task = Task {
      await withTaskGroup(of: Void.self) { group in
        for prefix in prefixes {
          group.addTask {
            while !Task.isCancelled {
              do {
                for try await _ in watch(prefix: prefix) { continuation.yield() }
              } catch {
                try? await Task.sleep(for: .milliseconds(300))
              }
              continuation.yield()
            }
          }
        }
      }
      continuation.finish()
    }
    continuation.onTermination = { _ in task.cancel() }
    return stream
  }
}
