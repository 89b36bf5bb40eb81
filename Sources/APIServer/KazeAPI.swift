import ClusterStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import KazeModel
import Logging

/// Builds Kaze's REST API. `kazed` and the tests call the same function.
public enum KazeAPI {
  public static func buildRouter(environment: APIEnvironment) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    let api = router.group("api/v1")
    VMController(environment: environment).register(api)
    ImageController(environment: environment).register(api)
    SnapshotController(environment: environment).register(api)
    DiskController(environment: environment).register(api)
    ConsoleController(environment: environment).register(api)
    ConsoleTicketController(environment: environment).register(api)
    MetricsController(environment: environment).register(api)
    NodeController(environment: environment).register(api)
    MigrationController(environment: environment).register(api)
    NodeMaintenanceController(environment: environment).register(api)
    ReplicationRoutes(environment: environment).register(api)
    api.get("openapi.yaml") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "application/yaml"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: openAPIDocument)))
    }
    // The web UI at / (its files under /ui/).
    WebRoutes().register(router)
    return router
  }

  /// The websocket routes (console streams), taken only by requests that ask for an upgrade.
  public static func buildWebSocketRouter(
    environment: APIEnvironment
  ) -> Router<BasicWebSocketRequestContext> {
    let router = Router(context: BasicWebSocketRequestContext.self)
    ConsoleSockets(environment: environment).register(router)
    return router
  }

  public static func buildApplication(
    environment: APIEnvironment, host: String, port: Int, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
  ) -> some ApplicationProtocol {
    Application(
      router: buildRouter(environment: environment),
      server: .http1WebSocketUpgrade(
        webSocketRouter: buildWebSocketRouter(environment: environment)),
      configuration: .init(address: .hostname(host, port: port), serverName: "kazed"),
      onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
      logger: logger)
  }

  /// The checked-in OpenAPI document (Sources/APIServer/openapi.yaml).
  public static var openAPIDocument: String {
    guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
      let text = try? String(contentsOf: url, encoding: .utf8)
    else { return "" }
    return text
  }
}
