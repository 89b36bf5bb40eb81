import ClusterStore
import Foundation
import Hummingbird
import KazeModel

/// /api/v1/nodes, /api/v1/tasks, /api/v1/events and /api/v1/health.
struct NodeController<Context: RequestContext>: Sendable {
  let environment: APIEnvironment
  var repository: Repository { environment.repository }

  func register(_ group: RouterGroup<Context>) {
    group.get("nodes", use: listNodes)
    group.get("nodes/:name", use: showNode)
    group.get("tasks", use: listTasks)
    group.get("tasks/:id", use: showTask)
    group.get("events", use: listEvents)
    group.get("health", use: health)
    group.get("cluster", use: cluster)
    group.put("cluster/config", use: setConfig)
  }

  func nodeViews() async throws -> [NodeView] {
    let alive = try await repository.aliveNodes()
    let vms = try await repository.vms()
    return try await repository.nodes().map { node in
      let placed = vms.filter { $0.node == node.name }
      let state: NodeState =
        !alive.contains(node.name) ? .offline : (node.maintenance ? .maintenance : .online)
      return NodeView(
        node: node, state: state, vmCount: placed.count,
        allocatedCPUs: placed.reduce(0) { $0 + $1.spec.cpus },
        allocatedMemoryMiB: placed.reduce(0) { $0 + $1.spec.memoryMiB })
    }
  }

  func listNodes(_ request: Request, context: Context) async throws -> Response {
    try APIJSON.response(try await nodeViews())
  }

  func showNode(_ request: Request, context: Context) async throws -> Response {
    let name = try context.name()
    guard let view = try await nodeViews().first(where: { $0.node.name == name }) else {
      throw KazeError.notFound("node", name)
    }
    return try APIJSON.response(view)
  }

  func listTasks(_ request: Request, context: Context) async throws -> Response {
    let limit = try request.intQuery("limit", default: 100, range: 1...1000)
    var tasks = try await repository.tasks()
    if let vm = request.query("vm") { tasks = tasks.filter { $0.vm == vm } }
    return try APIJSON.response(Array(tasks.suffix(limit)))
  }

  func showTask(_ request: Request, context: Context) async throws -> Response {
    let id = try context.name("id")
    guard let task = try await repository.task(id) else { throw KazeError.notFound("task", id) }
    return try APIJSON.response(task)
  }

  func listEvents(_ request: Request, context: Context) async throws -> Response {
    let limit = try request.intQuery("limit", default: 100, range: 1...2000)
    return try APIJSON.response(try await repository.events(limit: limit, vm: request.query("vm")))
  }

  func cluster(_ request: Request, context: Context) async throws -> Response {
    let leader = try await repository.store.get(StoreKeys.leader).map {
      String(decoding: $0.value, as: UTF8.self)
    }
    let nodes = try await nodeViews().map {
      NodeSummary(name: $0.node.name, state: $0.state, address: $0.node.address)
    }
    let store = await repository.store.storeStatus()
    let config = try await repository.clusterConfig()
    return try APIJSON.response(
      ClusterStatus(leader: leader, nodes: nodes, store: store, config: config))
  }

  /// Sets the cluster's CPU baseline: a model every node's QEMU offers. Running VMs keep the
  /// model they started with until their next start.
  func setConfig(_ request: Request, context: Context) async throws -> Response {
    let config = try await APIJSON.decode(ClusterConfig.self, from: request)
    if let model = config.cpuBaseline {
      if model == "host" {
        throw KazeError.invalid(
          "cpuBaseline",
          "'host' is each node's own CPU, not a baseline; name a model such as Nehalem")
      }
      for node in try await repository.nodes() {
        guard let models = node.cpuModels, !models.isEmpty else { continue }
        if !models.contains(model) {
          throw KazeError.invalid(
            "cpuBaseline",
            "\(node.name)'s QEMU has no CPU model '\(model)' (see qemu-system-x86_64 -cpu help)")
        }
      }
    }
    try await repository.store.putJSON(StoreKeys.clusterConfig, config)
    try await repository.record(
      KazeEvent(
        kind: "cluster.config",
        message: "CPU baseline set to \(config.cpuBaseline ?? "each node's default")"))
    return try APIJSON.response(config)
  }

  struct Health: Codable {
    var status: String
    var node: String
    var revision: Int64
  }

  func health(_ request: Request, context: Context) async throws -> Response {
    let revision = try await repository.store.currentRevision()
    return try APIJSON.response(
      Health(status: "ok", node: environment.nodeName, revision: revision))
  }
}
