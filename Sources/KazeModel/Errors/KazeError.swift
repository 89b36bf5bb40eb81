import Foundation

/// The one error type that crosses module boundaries: a machine-readable code, a human message,
/// the input field it is about (when it is about one) and an optional cause.
public struct KazeError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
  public enum Code: String, Codable, Sendable, CaseIterable {
    case invalidArgument
    case notFound
    case alreadyExists
    case conflict
    case invalidState
    /// A console ticket that is missing, used, expired or for another VM.
    case permissionDenied
    case insufficientResources
    case compacted
    case unavailable
    case timeout
    case internalError
  }

  public var code: Code
  public var message: String
  public var field: String?
  public var cause: String?
  /// What went wrong as a stable key (`memory.range`, `vm.action-state`, …) and the values
  /// its sentence names, so a client (the web UI) can say it in its own language; `message`
  /// is the English sentence. Nil for errors that have no key yet.
  public var reason: String?
  public var values: [String: String]?

  public init(
    _ code: Code, _ message: String, field: String? = nil, cause: String? = nil,
    reason: String? = nil, values: [String: String]? = nil
  ) {
    self.code = code
    self.message = message
    self.field = field
    self.cause = cause
    self.reason = reason
    self.values = values
  }

  public var description: String {
    var text = message
    if let cause { text += " (\(cause))" }
    return text
  }

  public static func invalid(
    _ field: String, _ message: String, reason: String? = nil, values: [String: String] = [:]
  ) -> KazeError {
    KazeError(
      .invalidArgument, "\(field): \(message)", field: field, reason: reason,
      values: reason == nil ? nil : values.merging(["field": field]) { mine, _ in mine })
  }

  public static func notFound(_ kind: String, _ name: String) -> KazeError {
    KazeError(
      .notFound, "\(kind) '\(name)' not found", reason: "not-found",
      values: ["kind": kind, "name": name])
  }

  /// Wraps any error as a KazeError, keeping it unchanged when it already is one.
  public static func wrap(_ error: any Error, _ context: String) -> KazeError {
    if let error = error as? KazeError { return error }
    return KazeError(.internalError, context, cause: String(describing: error))
  }
}
