import ClusterStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import KazeModel
import NIOCore

/// The console websockets: GET /api/v1/vms/{name}/console/ws (serial, text both ways) and
/// …/vnc/ws (RFB bytes both ways, for noVNC), each relayed only with a live ticket issued by
/// this node (checked after the upgrade; a bad one closes the socket with the reason). QEMU's
/// sockets are in the VM's run folder; nothing listens on a TCP port for them.
struct ConsoleSockets: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }
  /// How much of the serial log a new viewer sees first.
  static let serialHistoryBytes = 16 * 1024

  func register(_ router: Router<BasicWebSocketRequestContext>) {
    let api = router.group("api/v1")
    for kind in ConsoleKind.allCases {
      // Every upgrade is accepted and checked inside, so that a refusal reaches the browser as
      // a close reason (a refused handshake tells a page nothing).
      api.ws("vms/:name/\(kind.socketPath)") { inbound, outbound, context in
        let name = try context.requestContext.name()
        guard let vm = try await repository.vm(name), vm.node == environment.nodeName else {
          try await outbound.close(
            .policyViolation, reason: "\(name) does not run on this node; ask for a new ticket")
          return
        }
        do {
          try await environment.consoles.tickets.redeem(
            context.request.uri.queryParameters.get("ticket").map { String($0) }, vmID: vm.id,
            kind: kind)
        } catch {
          try await outbound.close(
            .policyViolation, reason: "the ticket is missing, used, expired or for another console")
          return
        }
        let files = environment.runFiles(vm)
        switch kind {
        case .serial: try await serial(files, inbound, outbound)
        case .vnc: try await vnc(files, inbound, outbound)
        }
      }
    }
  }

  /// The recent log first, then the live console through the node's shared serial connection.
  func serial(
    _ files: VMRunFiles, _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter
  ) async throws {
    let history = try await runBlocking {
      ConsoleLog(path: files.consoleLog).tail(bytes: Self.serialHistoryBytes)
    }
    if !history.isEmpty { try await outbound.write(.binary(ByteBuffer(bytes: history))) }
    let hub = environment.consoles.serial
    let viewer = await hub.attach(socket: files.serialSocket)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        for await bytes in viewer.output { try await outbound.write(.binary(bytes)) }
        // The console ended (QEMU went away) unless the viewer left first: say so, and the
        // browser's answer to the close ends the inbound side too.
        if !Task.isCancelled {
          try? await outbound.close(.normalClosure, reason: "the console closed (the VM stopped)")
        }
      }
      group.addTask {
        for try await frame in inbound { viewer.input.yield(frame.data) }
      }
      defer { group.cancelAll() }
      try await group.next()
    }
    await hub.detach(socket: files.serialSocket, viewer: viewer.id)
  }

  /// One VNC connection per viewer (QEMU's VNC server shares the display between them).
  func vnc(
    _ files: VMRunFiles, _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter
  ) async throws {
    let connection: UnixSocket.Connection
    do {
      connection = try await UnixSocket.connect(files.vncSocket)
    } catch {
      try await outbound.close(.unexpectedServerError, reason: "the VM's display is not there")
      return
    }
    try await connection.executeThenClose { display, keyboard in
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          do {
            for try await bytes in display { try await outbound.write(.binary(bytes)) }
          } catch {}
          // QEMU closed the display unless the viewer left first (this task is then cancelled).
          if !Task.isCancelled {
            try? await outbound.close(
              .normalClosure, reason: "the display closed (the VM stopped)")
          }
        }
        group.addTask {
          for try await frame in inbound { try await keyboard.write(frame.data) }
        }
        defer { group.cancelAll() }
        try await group.next()
      }
    }
  }
}
