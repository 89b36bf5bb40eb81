import ClusterStore
import Foundation
import KazeModel
import Testing

/// Thrown when a condition awaited with `eventually` never came true.
struct WaitTimedOut: Error, CustomStringConvertible {
  let description: String
}

/// Polls `condition` until it holds, failing after a generous `timeout`. Tests use it to await
/// outcomes (a lease expired, a watch delivered) without ever asserting how long they took.
func eventually(
  _ what: String, timeout: Duration = .seconds(15), poll: Duration = .milliseconds(20),
  _ condition: () async throws -> Bool
) async throws {
  let clock = ContinuousClock()
  let deadline = clock.now.advanced(by: timeout)
  while clock.now < deadline {
    if try await condition() { return }
    try await Task.sleep(for: poll)
  }
  if try await condition() { return }
  throw WaitTimedOut(description: "timed out waiting until \(what)")
}

/// Expects `body` to throw a `KazeError` with `code`.
func expectKazeError(
  _ code: KazeError.Code, sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () async throws -> Void
) async {
  do {
    try await body()
    Issue.record("expected a KazeError .\(code), but it succeeded", sourceLocation: sourceLocation)
  } catch let error as KazeError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
  } catch {
    Issue.record(
      "expected a KazeError .\(code), got \(error)", sourceLocation: sourceLocation)
  }
}

extension String {
  var bytes: Data { Data(utf8) }
}

extension Data {
  var text: String { String(decoding: self, as: UTF8.self) }
}
