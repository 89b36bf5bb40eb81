import Foundation
import KazeModel

extension KazeClient {
  // MARK: VMs

  public func vms() async throws -> [VMView] { try await call("GET", "/vms") }

  public func vm(_ name: String) async throws -> VMView {
    try await call("GET", "/vms/\(Self.escape(name))")
  }

  public func createVM(_ request: CreateVMRequest, force: Bool = false) async throws -> VMView {
    try await call("POST", "/vms", query: force ? ["force": "true"] : [:], body: request)
  }

  public func updateVM(
    _ name: String, _ request: UpdateVMRequest, force: Bool = false
  )
    async throws -> VMView
  {
    try await call(
      "PATCH", "/vms/\(Self.escape(name))", query: force ? ["force": "true"] : [:], body: request)
  }

  public func deleteVM(_ name: String, force: Bool = false) async throws {
    try await callNoContent(
      "DELETE", "/vms/\(Self.escape(name))", query: force ? ["force": "true"] : [:])
  }

  public func perform(_ action: VMAction, on name: String, wait: Bool = true) async throws -> VMView
  {
    try await call(
      "POST", "/vms/\(Self.escape(name))/\(action.rawValue)", query: wait ? ["wait": "true"] : [:])
  }

  public func console(
    _ name: String, lines: Int = 100, offset: Int64? = nil
  ) async throws
    -> ConsoleOutput
  {
    var query = ["lines": "\(lines)"]
    if let offset { query["offset"] = "\(offset)" }
    return try await call("GET", "/vms/\(Self.escape(name))/console", query: query)
  }

  public func migrate(
    _ name: String, _ request: MigrateRequest = .init(), wait: Bool = false
  )
    async throws -> Migration
  {
    try await call(
      "POST", "/vms/\(Self.escape(name))/migrate", query: wait ? ["wait": "true"] : [:],
      body: request)
  }

  public func replications() async throws -> [Replication] {
    try await call("GET", "/storage/replication")
  }

  public func recover(_ name: String, acceptDataLoss: Bool = false) async throws -> VMView {
    try await call(
      "POST", "/vms/\(Self.escape(name))/recover",
      body: RecoverVMRequest(acceptDataLoss: acceptDataLoss))
  }

  public func migration(_ name: String) async throws -> Migration {
    try await call("GET", "/vms/\(Self.escape(name))/migration")
  }

  public func migrations() async throws -> [Migration] { try await call("GET", "/migrations") }

  // MARK: Disks and snapshots

  public func disks(_ vm: String) async throws -> [DiskView] {
    try await call("GET", "/vms/\(Self.escape(vm))/disks")
  }

  public func addDisk(_ vm: String, size: String) async throws -> [DiskView] {
    try await call("POST", "/vms/\(Self.escape(vm))/disks", body: DiskRequest(size: size))
  }

  /// Starts moving a disk to another pool; follow the returned task.
  public func moveDisk(_ vm: String, disk: String, to pool: String) async throws -> KazeTask {
    try await call(
      "POST", "/vms/\(Self.escape(vm))/disks/\(Self.escape(disk))/move",
      body: MoveDiskRequest(pool: pool))
  }

  public func resizeDisk(_ vm: String, disk: String, size: String) async throws -> [DiskView] {
    try await call(
      "POST", "/vms/\(Self.escape(vm))/disks/\(Self.escape(disk))/resize",
      body: DiskRequest(size: size))
  }

  public func deleteDisk(_ vm: String, disk: String) async throws {
    try await callNoContent("DELETE", "/vms/\(Self.escape(vm))/disks/\(Self.escape(disk))")
  }

  public func snapshots(_ vm: String) async throws -> [Snapshot] {
    try await call("GET", "/vms/\(Self.escape(vm))/snapshots")
  }

  public func createSnapshot(
    _ vm: String, name: String, description: String? = nil
  ) async throws
    -> Snapshot
  {
    try await call(
      "POST", "/vms/\(Self.escape(vm))/snapshots",
      body: CreateSnapshotRequest(name: name, description: description))
  }

  public func revertSnapshot(_ vm: String, name: String) async throws {
    let _: KazeTask = try await call(
      "POST", "/vms/\(Self.escape(vm))/snapshots/\(Self.escape(name))/revert")
  }

  public func deleteSnapshot(_ vm: String, name: String) async throws {
    try await callNoContent("DELETE", "/vms/\(Self.escape(vm))/snapshots/\(Self.escape(name))")
  }

  // MARK: Images

  public func images() async throws -> [Image] { try await call("GET", "/images") }

  public func importImage(_ request: ImportImageRequest) async throws -> Image {
    try await call("POST", "/images", body: request)
  }

  public func deleteImage(_ name: String) async throws {
    try await callNoContent("DELETE", "/images/\(Self.escape(name))")
  }

  public func createTemplate(name: String, from vm: String) async throws -> Image {
    try await call("POST", "/templates", body: CreateTemplateRequest(name: name, vm: vm))
  }

  // MARK: Nodes, tasks, events

  public func nodes() async throws -> [NodeView] { try await call("GET", "/nodes") }

  public func node(_ name: String) async throws -> NodeView {
    try await call("GET", "/nodes/\(Self.escape(name))")
  }

  public func enterMaintenance(_ node: String) async throws -> Maintenance {
    try await call("POST", "/nodes/\(Self.escape(node))/maintenance/enter")
  }

  public func exitMaintenance(_ node: String, moveBack: Bool = false) async throws -> Maintenance {
    try await call(
      "POST", "/nodes/\(Self.escape(node))/maintenance/exit",
      body: ExitMaintenanceRequest(moveBack: moveBack))
  }

  public func maintenance(_ node: String) async throws -> Maintenance {
    try await call("GET", "/nodes/\(Self.escape(node))/maintenance")
  }

  public func setClusterConfig(_ config: ClusterConfig) async throws -> ClusterConfig {
    try await call("PUT", "/cluster/config", body: config)
  }

  public func clusterStatus() async throws -> ClusterStatus { try await call("GET", "/cluster") }

  public func task(_ id: String) async throws -> KazeTask {
    try await call("GET", "/tasks/\(Self.escape(id))")
  }

  public func tasks(limit: Int = 100) async throws -> [KazeTask] {
    try await call("GET", "/tasks", query: ["limit": "\(limit)"])
  }

  public func events(limit: Int = 100, vm: String? = nil) async throws -> [KazeEvent] {
    var query = ["limit": "\(limit)"]
    if let vm { query["vm"] = vm }
    return try await call("GET", "/events", query: query)
  }

  /// A one-use ticket for a console websocket of a running VM (issued by the VM's node).
  public func consoleTicket(_ name: String, kind: ConsoleKind) async throws -> ConsoleTicket {
    try await call(
      "POST", "/vms/\(Self.escape(name))/\(kind == .serial ? "console" : "vnc")/ticket")
  }

  /// The last `minutes` of a VM's load, measured by its node.
  public func metrics(vm name: String, minutes: Int = 60) async throws -> MetricSeries {
    try await call("GET", "/vms/\(Self.escape(name))/metrics", query: ["minutes": "\(minutes)"])
  }

  /// The last `minutes` of a node's load.
  public func metrics(node name: String, minutes: Int = 60) async throws -> MetricSeries {
    try await call("GET", "/nodes/\(Self.escape(name))/metrics", query: ["minutes": "\(minutes)"])
  }
}
