import ClusterStore
import Foundation
import Hummingbird
import KazeModel
import NIOCore

/// /api/v1/vms/{name}/console: the serial console log, as its last lines, from an offset, or as
/// a stream that follows it live.
struct ConsoleController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.get("vms/:name/console", use: read)
    group.get("vms/:name/console/stream", use: stream)
  }

  func read(_ request: Request, context: Context) async throws -> Response {
    let vm = try await repository.requireVM(try context.name())
    if let node = vm.node, node != environment.nodeName {
      return try await NodeProxy(repository: repository).forward(request, to: node)
    }
    let path = try await logPath(context)
    let lines = try request.intQuery("lines", default: 100, range: 1...10_000)
    let offset = try request.query("offset").map { text -> Int64 in
      guard let value = Int64(text), value >= 0 else {
        throw KazeError.invalid("offset", "'\(text)' is not a byte offset (a whole number ≥ 0)")
      }
      return value
    }
    let output = try await runBlocking { ConsoleLog(path: path).read(lines: lines, from: offset) }
    return try APIJSON.response(output)
  }

  /// Follows the log until the client goes away (noticed at the next write) or the VM is
  /// deleted or moves to another node (checked every couple of seconds).
  func stream(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    let path = try await logPath(context)
    let vmID = try await repository.requireVM(name).id
    let start = try await runBlocking { ConsoleLog(path: path).size() }
    let repository = self.repository
    let nodeName = environment.nodeName
    let body = ResponseBody { writer in
      var offset = start
      var round = 0
      while !Task.isCancelled {
        let from = offset
        let (data, next) = try await runBlocking { ConsoleLog(path: path).bytes(from: from) }
        if next < offset {
          offset = 0
          continue
        }
        if !data.isEmpty {
          try await writer.write(ByteBuffer(bytes: data))
          offset = next
        }
        round += 1
        if round % 10 == 0 {
          let vm = try await repository.vm(name)
          if vm?.id != vmID || vm?.node != nodeName { break }
        }
        try await Task.sleep(for: .milliseconds(200))
      }
      try await writer.finish(nil)
    }
    return Response(
      status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: body)
  }

  private func logPath(_ context: Context) async throws -> String {
    let vm = try await repository.requireVM(try context.name())
    let node = try NodeProxy.node(of: vm, lacking: "console")
    guard node == environment.nodeName else {
      let address = try await repository.nodes().first { $0.name == node }?.address ?? "?"
      throw KazeError(
        .invalidState,
        "\(vm.name) runs on node \(node); read its console from that node's API at \(address)")
    }
    return environment.runFiles(vm).consoleLog
  }
}
