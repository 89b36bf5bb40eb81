import Foundation

/// A command as sent on the wire: `{"execute": ..., "arguments": {...}, "id": ...}`.
struct QMPRequest<Arguments: Encodable>: Encodable {
  var execute: String
  var arguments: Arguments?
  var id: Int64

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(execute, forKey: .execute)
    try container.encodeIfPresent(arguments, forKey: .arguments)
    try container.encode(id, forKey: .id)
  }

  private enum CodingKeys: String, CodingKey {
    case execute, arguments, id
  }

  /// One line of JSON, terminated by a newline.
  func encodedLine() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var data: Data
    do {
      data = try encoder.encode(self)
    } catch {
      throw QMPError.decoding("cannot encode arguments of \(execute): \(error)")
    }
    data.append(UInt8(ascii: "\n"))
    return data
  }
}

/// A message received after the greeting.
enum QMPIncomingMessage: Sendable {
  /// A successful reply: `{"return": ..., "id": ...}`.
  case success(id: JSONValue?, result: JSONValue)
  /// An error reply: `{"error": {"class": ..., "desc": ...}, "id": ...}`.
  case failure(id: JSONValue?, errorClass: String, description: String)
  case event(QMPEvent)
  /// Anything else (a second greeting, an unknown shape).
  case unknown(JSONValue)

  init(_ message: JSONValue) {
    if let result = message["return"] {
      self = .success(id: message["id"], result: result)
    } else if let error = message["error"] {
      self = .failure(
        id: message["id"],
        errorClass: error["class"]?.stringValue ?? "GenericError",
        description: error["desc"]?.stringValue ?? "\(error)")
    } else if let event = QMPEvent(message: message) {
      self = .event(event)
    } else {
      self = .unknown(message)
    }
  }
}
