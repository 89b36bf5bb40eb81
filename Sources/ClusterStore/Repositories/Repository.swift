import Foundation
import KazeModel

/// Typed access to Kaze's records on top of any `ClusterStore`. Updates are compare-and-swap
/// loops on the record's revision, so concurrent writers never lose each other's changes.
public struct Repository: Sendable {
  public let store: any ClusterStore

  public init(store: any ClusterStore) {
    self.store = store
  }

  // MARK: VMs

  public func vm(_ name: String) async throws -> VM? {
    try await store.getJSON(StoreKeys.vm(name), as: VM.self)
  }

  public func requireVM(_ name: String) async throws -> VM {
    guard let vm = try await vm(name) else { throw KazeError.notFound("VM", name) }
    return vm
  }

  public func vms() async throws -> [VM] {
    try await store.listJSON(prefix: StoreKeys.vms, as: VM.self).items
  }

  /// Creates a VM record; `.alreadyExists` if the name is taken.
  public func createVM(_ vm: VM) async throws {
    let result = try await store.txn(
      if: [.modRevision(StoreKeys.vm(vm.name), equals: 0)],
      then: try assignment(vm) + [
        try .putJSON(StoreKeys.status(vm.name), VMStatus(phase: .pending))
      ])
    if !result.succeeded {
      throw KazeError(.alreadyExists, "a VM named '\(vm.name)' already exists", field: "name")
    }
  }

  /// Reads, changes and writes back a VM, retrying when someone else wrote in between.
  @discardableResult
  public func updateVM(_ name: String, _ change: (inout VM) throws -> Void) async throws -> VM {
    try await update(StoreKeys.vm(name), kind: "VM", name: name, change)
  }

  public func deleteVM(_ name: String) async throws {
    _ = try await store.txn(
      if: [],
      then: [
        .delete(StoreKeys.vm(name)), .delete(StoreKeys.status(name)),
        .deletePrefix(StoreKeys.snapshots(of: name)), .delete(StoreKeys.migration(name)),
        .delete(StoreKeys.owner(name)), .delete(StoreKeys.replication(name)),
      ])
  }

  public func status(_ vm: String) async throws -> VMStatus {
    try await store.getJSON(StoreKeys.status(vm), as: VMStatus.self) ?? VMStatus(phase: .pending)
  }

  public func statuses() async throws -> [String: VMStatus] {
    let items = try await store.list(prefix: StoreKeys.vmStatus).items
    var result: [String: VMStatus] = [:]
    for item in items {
      result[StoreKeys.name(of: item.key)] = try item.decodeJSON(VMStatus.self)
    }
    return result
  }

  /// Writes observed status, but only while the VM record exists (a deleted VM stays deleted).
  /// Writes observed status only while `owner` still owns the VM (same node, same epoch): a
  /// node that lost the VM (fenced, recovered elsewhere) cannot overwrite the new owner's view.
  /// Returns false when the write was refused.
  @discardableResult
  public func putStatus(_ vm: String, _ status: VMStatus, owner: VMOwner) async throws -> Bool {
    let result = try await store.txn(
      if: [try .jsonValue(StoreKeys.owner(vm), equals: owner)],
      then: [try .putJSON(StoreKeys.status(vm), status)])
    return result.succeeded
  }

  /// Status for a VM no node owns yet (placement refusals).
  public func putUnplacedStatus(_ vm: String, _ status: VMStatus) async throws {
    guard let record = try await store.get(StoreKeys.vm(vm)) else { return }
    _ = try await store.txn(
      if: [
        .createRevision(StoreKeys.vm(vm), equals: record.createRevision),
        .createRevision(StoreKeys.owner(vm), equals: 0),
      ],
      then: [try .putJSON(StoreKeys.status(vm), status)])
  }

  public func owner(_ vm: String) async throws -> VMOwner? {
    try await store.getJSON(StoreKeys.owner(vm), as: VMOwner.self)
  }

  /// The writes that give a VM to its node: the record and its owner key, always together.
  public func assignment(_ vm: VM) throws -> [TxnOp] {
    var operations = [try TxnOp.putJSON(StoreKeys.vm(vm.name), vm)]
    if let node = vm.node {
      operations.append(
        try .putJSON(StoreKeys.owner(vm.name), VMOwner(node: node, epoch: vm.epoch)))
    }
    return operations
  }

  public func views() async throws -> [VMView] {
    async let vms = vms()
    async let statuses = statuses()
    async let replications = replications()
    let all = try await statuses
    let copies = try await replications
    return try await vms.map {
      VMView(
        vm: $0, status: all[$0.name] ?? VMStatus(phase: .pending), replication: copies[$0.name])
    }
  }

  // MARK: Nodes

  public func nodes() async throws -> [Node] {
    try await store.listJSON(prefix: StoreKeys.nodes, as: Node.self).items
  }

  public func aliveNodes() async throws -> Set<String> {
    Set(try await store.list(prefix: StoreKeys.nodeAlive).items.map { StoreKeys.name(of: $0.key) })
  }

  // MARK: Images and snapshots

  public func image(_ name: String) async throws -> Image? {
    try await store.getJSON(StoreKeys.image(name), as: Image.self)
  }

  public func images() async throws -> [Image] {
    try await store.listJSON(prefix: StoreKeys.images, as: Image.self).items
  }

  public func createImage(_ image: Image) async throws {
    do {
      try await store.putJSON(StoreKeys.image(image.name), image, ifModRevision: 0)
    } catch let error as KazeError where error.code == .conflict {
      throw KazeError(
        .alreadyExists, "an image named '\(image.name)' already exists", field: "name")
    }
  }

  public func snapshots(of vm: String) async throws -> [Snapshot] {
    try await store.listJSON(prefix: StoreKeys.snapshots(of: vm), as: Snapshot.self).items
  }

  // MARK: Migrations

  public func migration(_ vm: String) async throws -> Migration? {
    try await store.getJSON(StoreKeys.migration(vm), as: Migration.self)
  }

  public func migrations() async throws -> [Migration] {
    try await store.listJSON(prefix: StoreKeys.migrations, as: Migration.self).items
  }

  @discardableResult
  public func updateMigration(
    _ vm: String, _ change: (inout Migration) throws -> Void
  )
    async throws -> Migration
  {
    try await update(StoreKeys.migration(vm), kind: "migration", name: vm, change)
  }

  // MARK: Cluster settings

  public func clusterConfig() async throws -> ClusterConfig {
    try await store.getJSON(StoreKeys.clusterConfig, as: ClusterConfig.self) ?? ClusterConfig()
  }

  // MARK: Maintenance

  public func maintenance(_ node: String) async throws -> Maintenance? {
    try await store.getJSON(StoreKeys.maintenance(node), as: Maintenance.self)
  }

  public func maintenances() async throws -> [Maintenance] {
    try await store.listJSON(prefix: StoreKeys.maintenance, as: Maintenance.self).items
  }

  @discardableResult
  public func updateMaintenance(
    _ node: String, _ change: (inout Maintenance) throws -> Void
  )
    async throws -> Maintenance
  {
    try await update(StoreKeys.maintenance(node), kind: "maintenance of node", name: node, change)
  }

  @discardableResult
  public func updateNode(_ name: String, _ change: (inout Node) throws -> Void) async throws -> Node
  {
    try await update(StoreKeys.node(name), kind: "node", name: name, change)
  }

  // MARK: Tasks and events

  public func task(_ id: String) async throws -> KazeTask? {
    try await store.getJSON(StoreKeys.task(id), as: KazeTask.self)
  }

  public func tasks() async throws -> [KazeTask] {
    try await store.listJSON(prefix: StoreKeys.tasks, as: KazeTask.self).items
  }

  public func putTask(_ task: KazeTask) async throws {
    try await store.putJSON(StoreKeys.task(task.id), task)
  }

  @discardableResult
  public func updateTask(
    _ id: String, _ change: (inout KazeTask) throws -> Void
  ) async throws
    -> KazeTask
  {
    try await update(StoreKeys.task(id), kind: "task", name: id, change)
  }

  public func record(_ event: KazeEvent) async throws {
    try await store.putJSON(StoreKeys.event(event.id), event)
  }

  /// The newest `limit` events, oldest first, optionally only those about one VM.
  public func events(limit: Int = 100, vm: String? = nil) async throws -> [KazeEvent] {
    let all = try await store.listJSON(prefix: StoreKeys.events, as: KazeEvent.self).items
    let filtered = vm.map { name in all.filter { $0.vm == name } } ?? all
    return Array(filtered.suffix(limit))
  }

  /// Keeps the event log and finished tasks bounded.
  public func trimHistory(keepEvents: Int = 2000, keepTasks: Int = 500) async throws {
    let events = try await store.list(prefix: StoreKeys.events).items
    for item in events.dropLast(keepEvents) { try await store.delete(item.key) }
    let tasks = try await store.listJSON(prefix: StoreKeys.tasks, as: KazeTask.self).items
    let finished = tasks.filter { $0.state.isFinished }
    for task in finished.dropLast(keepTasks) { try await store.delete(StoreKeys.task(task.id)) }
  }

  // MARK: Generic CAS update

  func update<Value: Codable & Sendable>(
    _ key: String, kind: String, name: String, _ change: (inout Value) throws -> Void
  ) async throws -> Value {
    for _ in 0..<20 {
      guard let current = try await store.get(key) else { throw KazeError.notFound(kind, name) }
      var value = try current.decodeJSON(Value.self)
      try change(&value)
      do {
        try await store.putJSON(key, value, ifModRevision: current.modRevision)
        return value
      } catch let error as KazeError where error.code == .conflict {
        continue
      }
    }
    throw KazeError(.conflict, "\(kind) '\(name)' is changing too often; try again")
  }
}
