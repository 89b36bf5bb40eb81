import Foundation
import KazeModel

/// The JSON encoding of values stored in the cluster store: sorted keys (stable bytes, so equal
/// values compare equal in `Compare.value`) and ISO-8601 dates.
public enum ClusterStoreJSON {
  public static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
  }()

  public static let decoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return decoder
  }()

  /// Encodes a value for the store, reporting failures as `.invalidArgument`.
  public static func encode<Value: Encodable>(_ value: Value, key: String) throws -> Data {
    do {
      return try encoder.encode(value)
    } catch {
      throw KazeError(
        .invalidArgument, "cannot encode the value for '\(key)'", cause: String(describing: error))
    }
  }

  /// Decodes a stored value, reporting failures as `.internalError` (the stored data is corrupt or
  /// of another type).
  public static func decode<Value: Decodable>(
    _ type: Value.Type, from data: Data, key: String
  )
    throws -> Value
  {
    do {
      return try decoder.decode(type, from: data)
    } catch {
      throw KazeError(
        .internalError, "cannot decode the value at '\(key)' as \(Value.self)",
        cause: String(describing: error))
    }
  }
}

extension KeyValue {
  /// The value decoded from JSON.
  public func decodeJSON<Value: Decodable>(_ type: Value.Type = Value.self) throws -> Value {
    try ClusterStoreJSON.decode(type, from: value, key: key)
  }
}

extension TxnOp {
  /// A put of a JSON-encoded value.
  public static func putJSON<Value: Encodable>(
    _ key: String, _ value: Value, lease: LeaseID? = nil
  ) throws -> TxnOp {
    .put(key, try ClusterStoreJSON.encode(value, key: key), lease: lease)
  }
}

extension Compare {
  /// Holds when the key's value is the JSON encoding of `value`.
  public static func jsonValue<Value: Encodable>(
    _ key: String, equals value: Value
  ) throws
    -> Compare
  {
    .value(key, equals: try ClusterStoreJSON.encode(value, key: key))
  }
}

/// JSON forms of reads and writes, so that callers store `Codable` values directly.
extension ClusterStore {
  /// The value at `key` decoded from JSON, or nil when the key does not exist.
  public func getJSON<Value: Decodable>(
    _ key: String, as type: Value.Type = Value.self
  )
    async throws -> Value?
  {
    try await get(key)?.decodeJSON(type)
  }

  /// Every value under `prefix` decoded from JSON, sorted by key, with the read revision.
  public func listJSON<Value: Decodable>(
    prefix: String, as type: Value.Type = Value.self
  )
    async throws -> (items: [Value], revision: Revision)
  {
    let (items, revision) = try await list(prefix: prefix)
    return (try items.map { try $0.decodeJSON(type) }, revision)
  }

  /// Writes the JSON encoding of `value` at `key`, with the same options as `put`.
  @discardableResult
  public func putJSON<Value: Encodable>(
    _ key: String, _ value: Value, lease: LeaseID? = nil, ifModRevision: Revision? = nil
  ) async throws -> Revision {
    try await put(
      key, try ClusterStoreJSON.encode(value, key: key), lease: lease, ifModRevision: ifModRevision)
  }
}
