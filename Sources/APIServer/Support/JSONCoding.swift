import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// JSON in and out of the API, with errors that name the bad field.
enum APIJSON {
  static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
  }()

  static let decoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return decoder
  }()

  static let maxBodyBytes = 1 << 20

  /// Decodes the request body strictly: malformed JSON, wrong types, missing or unknown fields
  /// all become a 400 that says which field and what is allowed.
  static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
    var request = request
    let buffer: ByteBuffer
    do {
      buffer = try await request.collectBody(upTo: maxBodyBytes)
    } catch {
      throw KazeError(.invalidArgument, "the request body is larger than \(maxBodyBytes) bytes")
    }
    let data = Data(buffer: buffer)
    if data.isEmpty { throw KazeError(.invalidArgument, "the request needs a JSON body") }
    do {
      return try decoder.decode(T.self, from: data)
    } catch {
      throw KazeError.decoding(error)
    }
  }

  static func response<T: Encodable>(
    _ value: T, status: HTTPResponse.Status = .ok
  ) throws
    -> Response
  {
    let data = try encoder.encode(value)
    return Response(
      status: status, headers: [.contentType: "application/json; charset=utf-8"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }
}

extension Request {
  func query(_ name: String) -> String? { uri.queryParameters.get(name) }

  /// An integer query parameter within `range`, or a 400 naming it.
  func intQuery(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
    guard let text = query(name) else { return value }
    guard let number = Int(text), range.contains(number) else {
      throw KazeError.invalid(
        name,
        "'\(text)' is not allowed: use a whole number from \(range.lowerBound) to \(range.upperBound)"
      )
    }
    return number
  }

  func boolQuery(_ name: String) throws -> Bool {
    guard let text = query(name) else { return false }
    switch text {
    case "true", "1", "yes": return true
    case "false", "0", "no": return false
    default: throw KazeError.invalid(name, "'\(text)' is not allowed: use true or false")
    }
  }
}

extension RequestContext {
  func name(_ parameter: String = "name") throws -> String {
    guard let value = parameters.get(parameter) else {
      throw KazeError.invalid(parameter, "missing from the path")
    }
    return value
  }
}
