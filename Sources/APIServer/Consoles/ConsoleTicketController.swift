import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// POST /api/v1/vms/{name}/console/ticket and …/vnc/ticket: a one-use ticket for the console
/// websocket of the node that runs the VM (asked of that node when another node gets the
/// request). A plain GET of a websocket path says what it is.
struct ConsoleTicketController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    for kind in ConsoleKind.allCases {
      group.post("vms/:name/\(kind.ticketPath)") { request, context in
        try await issue(kind, request: request, context: context)
      }
      group.get("vms/:name/\(kind.socketPath)") { request, context in
        try await refused(kind, request: request, context: context)
      }
    }
  }

  func issue(_ kind: ConsoleKind, request: Request, context: Context) async throws -> Response {
    let vm = try await repository.requireVM(try context.name())
    let node = try NodeProxy.node(of: vm, lacking: "console")
    if node != environment.nodeName {
      let answer = try await NodeProxy(repository: repository).fetch(request, from: node)
      guard answer.status == .ok,
        var ticket = try? APIJSON.decoder.decode(
          ConsoleTicket.self, from: answer.body)
      else { return answer.response }
      ticket.address = answer.address
      return try APIJSON.response(ticket)
    }
    let phase = try await repository.status(vm.name).phase
    guard phase.hasProcess else {
      throw KazeError(
        .invalidState, "\(vm.name) is \(phase.rawValue); start it to open its console")
    }
    let grant = await environment.consoles.tickets.issue(vmID: vm.id, kind: kind)
    return try APIJSON.response(
      ConsoleTicket(
        kind: kind, vm: vm.name, node: node,
        path: "/api/v1/vms/\(vm.name)/\(kind.socketPath)?ticket=\(grant.token)",
        expiresAt: grant.expiresAt))
  }

  /// A plain GET of a console websocket's path: say what it is.
  func refused(_ kind: ConsoleKind, request: Request, context: Context) async throws -> Response {
    let vm = try await repository.requireVM(try context.name())
    throw KazeError(
      .invalidArgument,
      "\(request.uri.path) is a websocket: connect with a websocket client (Upgrade: "
        + "websocket) and the ?ticket= from POST /api/v1/vms/\(vm.name)/\(kind.ticketPath)")
  }
}
