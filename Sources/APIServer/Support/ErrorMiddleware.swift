import Foundation
import Hummingbird
import KazeModel
import Logging

/// Turns every error into the API's JSON error body `{code, message, field, reason, values}`
/// with the right status. The one place where error codes map to HTTP statuses.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
  func handle(
    _ request: Request, context: Context,
    next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as KazeError {
      if error.code == .internalError || error.code == .unavailable {
        context.logger.error("\(request.method) \(request.uri.path): \(error)")
      }
      return Self.response(for: error)
    } catch let error as HTTPError {
      let code: KazeError.Code =
        switch error.status {
        case .notFound: .notFound
        case .methodNotAllowed, .badRequest: .invalidArgument
        default: error.status.code < 500 ? .invalidArgument : .internalError
        }
      let message =
        error.status == .notFound
        ? "no such API route: \(request.method) \(request.uri.path)"
        : (error.body ?? error.status.reasonPhrase)
      return Self.encode(ErrorBody(code: code.rawValue, message: message), status: error.status)
    } catch {
      context.logger.error("\(request.method) \(request.uri.path): \(error)")
      return Self.response(for: KazeError(.internalError, "internal error", cause: "\(error)"))
    }
  }

  static func status(for code: KazeError.Code) -> HTTPResponse.Status {
    switch code {
    case .invalidArgument: .badRequest
    case .notFound: .notFound
    case .alreadyExists, .conflict, .invalidState: .conflict
    case .permissionDenied: .forbidden
    case .insufficientResources: .unprocessableContent
    case .compacted: .gone
    case .unavailable: .serviceUnavailable
    case .timeout: .gatewayTimeout
    case .internalError: .internalServerError
    }
  }

  static func response(for error: KazeError) -> Response {
    encode(
      ErrorBody(
        code: error.code.rawValue, message: error.description, field: error.field,
        reason: error.reason, values: error.values),
      status: status(for: error.code))
  }

  static func encode(_ body: ErrorBody, status: HTTPResponse.Status) -> Response {
    let data = (try? APIJSON.encoder.encode(body)) ?? Data("{}".utf8)
    return Response(
      status: status, headers: [.contentType: "application/json; charset=utf-8"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }
}
