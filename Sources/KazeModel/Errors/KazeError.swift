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

  public init(_ code: Code, _ message: String, field: String? = nil, cause: String? = nil) {
    self.code = code
    self.message = message
    self.field = field
    self.cause = cause
  }

  public var description: String {
    var text = message
    if let cause { text += " (\(cause))" }
    return text
  }

  public static func invalid(_ field: String, _ message: String) -> KazeError {
    KazeError(.invalidArgument, "\(field): \(message)", field: field)
  }

  public static func notFound(_ kind: String, _ name: String) -> KazeError {
    KazeError(.notFound, "\(kind) '\(name)' not found")
  }

  /// Wraps any error as a KazeError, keeping it unchanged when it already is one.
  public static func wrap(_ error: any Error, _ context: String) -> KazeError {
    if let error = error as? KazeError { return error }
    return KazeError(.internalError, context, cause: String(describing: error))
  }
}
