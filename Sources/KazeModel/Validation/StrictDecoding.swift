import Foundation

/// A coding key for any string, used to see every key a JSON object really has.
public struct AnyCodingKey: CodingKey, Sendable {
  public var stringValue: String
  public var intValue: Int?
  public init(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) {
    self.stringValue = String(intValue)
    self.intValue = intValue
  }
}

extension Decoder {
  /// Refuses a JSON object with a field the type does not know, naming it and the allowed ones.
  public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ known: Keys.Type) throws {
    let container = try self.container(keyedBy: AnyCodingKey.self)
    let allowed = Set(Keys.allCases.map(\.stringValue))
    for key in container.allKeys where !allowed.contains(key.stringValue) {
      let prefix = codingPath.map(\.stringValue).joined(separator: ".")
      let field = prefix.isEmpty ? key.stringValue : "\(prefix).\(key.stringValue)"
      throw KazeError.invalid(
        field, "unknown field; allowed fields are \(allowed.sorted().joined(separator: ", "))")
    }
  }
}

extension KazeError {
  /// Turns a JSON decoding failure into a message that names the field and what was expected.
  public static func decoding(_ error: any Error) -> KazeError {
    if let error = error as? KazeError { return error }
    guard let error = error as? DecodingError else {
      return KazeError(.invalidArgument, "malformed JSON: \(error)")
    }
    func path(_ codingPath: [any CodingKey]) -> String {
      codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        .joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
    switch error {
    case .typeMismatch(let type, let context):
      let field = path(context.codingPath)
      return .invalid(field.isEmpty ? "body" : field, "expected \(describe(type))")
    case .valueNotFound(let type, let context):
      let field = path(context.codingPath)
      return .invalid(field.isEmpty ? "body" : field, "expected \(describe(type)), got null")
    case .keyNotFound(let key, let context):
      let field = path(context.codingPath + [key])
      return .invalid(field, "required field is missing")
    case .dataCorrupted(let context):
      let field = path(context.codingPath)
      if field.isEmpty {
        return KazeError(.invalidArgument, "malformed JSON: the request body is not valid JSON")
      }
      return .invalid(field, context.debugDescription)
    @unknown default:
      return KazeError(.invalidArgument, "malformed JSON")
    }
  }

  private static func describe(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
    case is Double.Type: "a number"
    case is String.Type: "a string"
    case is Bool.Type: "true or false"
    default:
      String(describing: type).hasPrefix("Array") ? "a list" : "an object"
    }
  }
}
