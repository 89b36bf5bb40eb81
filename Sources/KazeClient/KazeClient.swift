import Foundation
import KazeModel

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Typed async client of Kaze's REST API, used by the CLI, the benchmarks and the tests.
public struct KazeClient: Sendable {
  public let baseURL: URL
  public static let defaultServer = "127.0.0.1:7070"

  /// `server` is `HOST:PORT` or a full `http://HOST:PORT` URL.
  public init(server: String) throws {
    let text = server.contains("://") ? server : "http://\(server)"
    guard let url = URL(string: text), url.host != nil,
      url.scheme == "http" || url.scheme == "https"
    else {
      throw KazeError.invalid("server", "'\(server)' is not a server address like 127.0.0.1:7070")
    }
    baseURL = url
  }

  static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .iso8601
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }()

  static let decoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return decoder
  }()

  struct Empty: Codable {}

  /// Sends a request and returns the raw status and body; errors become `KazeError`s.
  public func send(
    _ method: String, _ path: String, query: [String: String] = [:], body: Data? = nil,
    timeout: TimeInterval = 300
  ) async throws -> (status: Int, data: Data) {
    var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)
    components?.path = "/api/v1" + path
    if !query.isEmpty {
      components?.queryItems = query.sorted { $0.key < $1.key }.map {
        URLQueryItem(name: $0.key, value: $0.value)
      }
    }
    guard let url = components?.url else {
      throw KazeError(.invalidArgument, "cannot build a URL for \(path)")
    }
    var request = URLRequest(url: url, timeoutInterval: timeout)
    request.httpMethod = method
    if let body {
      request.httpBody = body
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    let data: Data
    let response: URLResponse
    do {
      (data, response) = try await URLSession.shared.data(for: request)
    } catch {
      throw KazeError(
        .unavailable, "cannot reach kazed at \(baseURL.absoluteString)",
        cause: (error as NSError).localizedDescription)
    }
    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
    guard (200..<300).contains(status) else {
      if let body = try? Self.decoder.decode(ErrorBody.self, from: data) {
        throw KazeError(
          KazeError.Code(rawValue: body.code) ?? .internalError, body.message, field: body.field)
      }
      throw KazeError(.internalError, "kazed answered \(status) to \(method) \(path)")
    }
    return (status, data)
  }

  func call<Response: Decodable>(
    _ method: String, _ path: String, query: [String: String] = [:],
    body: (some Encodable)? = Empty?.none,
    as type: Response.Type = Response.self
  ) async throws -> Response {
    let payload = try body.map { try Self.encoder.encode($0) }
    let (_, data) = try await send(method, path, query: query, body: payload)
    do {
      return try Self.decoder.decode(Response.self, from: data)
    } catch {
      throw KazeError(
        .internalError, "cannot read kazed's answer to \(method) \(path)", cause: "\(error)")
    }
  }

  func callNoContent(
    _ method: String, _ path: String, query: [String: String] = [:],
    body: (some Encodable)? = Empty?.none
  )
    async throws
  {
    let payload = try body.map { try Self.encoder.encode($0) }
    _ = try await send(method, path, query: query, body: payload)
  }

  static func escape(_ name: String) -> String {
    name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? name
  }
}
