import Foundation

/// A JSON value as exchanged with QEMU.
///
/// Integers are kept exact in ``int(_:)``; only numbers with a fraction or an exponent, or
/// integers beyond the range of `Int64`, are decoded as ``number(_:)``.
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int64)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])
}

extension JSONValue: Codable {
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .int(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else if let value = try? container.decode([String: JSONValue].self) {
      self = .object(value)
    } else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "Not a JSON value")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let value): try container.encode(value)
    case .int(let value): try container.encode(value)
    case .number(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }
}

extension JSONValue {
  /// Parses one JSON document.
  public init(parsing data: Data) throws {
    do {
      self = try JSONDecoder().decode(JSONValue.self, from: data)
    } catch {
      throw QMPError.decoding("invalid JSON: \(error)")
    }
  }

  /// Converts any `Encodable` value (a struct of command arguments, say) to a `JSONValue`.
  public init(encoding value: some Encodable) throws {
    do {
      self = try JSONValue(parsing: JSONEncoder().encode(value))
    } catch let error as QMPError {
      throw error
    } catch {
      throw QMPError.decoding("cannot encode \(type(of: value)): \(error)")
    }
  }

  /// Decodes this value as `type`, e.g. the `return` of a command as a result struct.
  public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
    do {
      return try JSONDecoder().decode(T.self, from: jsonData())
    } catch let error as QMPError {
      throw error
    } catch {
      throw QMPError.decoding("cannot decode \(T.self) from \(self): \(error)")
    }
  }

  /// The compact JSON encoding of this value (object keys sorted).
  public func jsonData() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
      return try encoder.encode(self)
    } catch {
      throw QMPError.decoding("cannot encode JSON value: \(error)")
    }
  }
}

extension JSONValue: CustomStringConvertible {
  /// The compact JSON text of this value.
  public var description: String {
    guard let data = try? jsonData() else {
      // Only non-finite doubles cannot be encoded.
      if case .number(let value) = self { return String(value) }
      return "<invalid JSON>"
    }
    return String(decoding: data, as: UTF8.self)
  }
}
