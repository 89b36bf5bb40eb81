import Foundation
import KazeClient
import KazeModel
import KazeTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// A three-node cluster (3-member etcd, shared pool, links that can be cut) with HA VMs, and
/// what the chaos scenarios need to break it and to see it heal.
final class ChaosCluster: @unchecked Sendable {
  let harness: ClusterHarness
  let monitor: ChaosMonitor
  /// HA VM name → id (lower-case).
  let vms: [String: String]

  private init(harness: ClusterHarness, monitor: ChaosMonitor, vms: [String: String]) {
    self.harness = harness
    self.monitor = monitor
    self.vms = vms
  }

  static func start(haVMs count: Int) async throws -> ChaosCluster {
    let harness = try ClusterHarness(partitionable: true)
    do {
      try await harness.start()
      try await harness.importTestImage()
      var ids: [String: String] = [:]
      for index in 1...count {
        let name = "ha-\(index)"
        _ = try await harness.client.createVM(
          CreateVMRequest(
            name: name, image: "tiny", memoryMiB: 128,
            node: harness.nodes[(index - 1) % harness.nodes.count].name,
            ha: HAPolicy(priority: 100 + index, maxRelocations: 100), start: true),
          force: true)
      }
      for index in 1...count {
        let name = "ha-\(index)"
        let view = try await eventually("\(name) running", timeout: .seconds(180)) {
          let view = try await harness.client.vm(name)
          return view.status.phase == .running ? view : nil
        }
        ids[name] = view.vm.id.uuidString.lowercased()
      }
      let monitor = ChaosMonitor(
        vms: ids, nodes: harness.nodes.map { ($0.name, $0.dataDir) })
      monitor.start()
      await monitor.waitForFirstSample()
      return ChaosCluster(harness: harness, monitor: monitor, vms: ids)
    } catch {
      harness.cleanUp()
      throw error
    }
  }

  func cleanUp() {
    monitor.stop()
    harness.cleanUp()
  }

  // MARK: Looking

  /// A client of a node whose kazed runs and that is not one of the `avoided` (broken) nodes.
  func client(avoiding avoided: Set<String> = []) -> KazeClient {
    harness.liveClient(excluding: avoided)
  }

  /// Every VM as the store sees it; nil while no node answers in time.
  func views(avoiding avoided: Set<String> = []) async -> [VMView]? {
    let client = client(avoiding: avoided)
    return await within(.seconds(5)) { try await client.vms() }
  }

  func leader(avoiding avoided: Set<String> = []) async -> String? {
    let client = client(avoiding: avoided)
    return await within(.seconds(5)) { try await client.clusterStatus().leader } ?? nil
  }

  /// HA VMs per node, as assigned in the store.
  func placement(avoiding avoided: Set<String> = []) async throws -> [String: [String]] {
    let views = try await eventually("the VM list", timeout: .seconds(30)) {
      await self.views(avoiding: avoided)
    }
    var byNode: [String: [String]] = [:]
    for view in views where vms[view.vm.name] != nil {
      byNode[view.vm.node ?? "-", default: []].append(view.vm.name)
    }
    return byNode
  }

  /// The QEMU pid executing each HA VM now.
  func pids() -> [String: pid_t] {
    let processes = ChaosMonitor.qemuProcesses()
    var pids: [String: pid_t] = [:]
    for (name, id) in vms {
      if let copy = processes[id]?.first { pids[name] = copy.pid }
    }
    return pids
  }

  // MARK: Waiting

  /// Waits until every HA VM runs — the store says running on its assigned node, which is not
  /// one of the `avoided` (broken) nodes, exactly one QEMU executes it, and that node's serial
  /// log for it grew after `since` — and returns when that first held.
  func everyVMRunsAgain(
    since fault: ContinuousClock.Instant, avoiding avoided: Set<String> = [],
    timeout: Duration = .seconds(120)
  ) async throws -> ContinuousClock.Instant {
    var missing = "no VM list yet"
    do {
      return try await eventually("every HA VM running again", timeout: timeout) {
        () async throws -> ContinuousClock.Instant? in
        guard let views = await views(avoiding: avoided) else { return nil }
        let processes = ChaosMonitor.qemuProcesses()
        for (name, id) in vms.sorted(by: { $0.key < $1.key }) {
          guard let view = views.first(where: { $0.vm.name == name }) else {
            missing = "\(name) is missing from the store"
            return nil
          }
          let output = monitor.lastOutput(of: name)
          guard view.status.phase == .running, let node = view.vm.node,
            view.status.node == node, !avoided.contains(node),
            processes[id]?.count == 1, let output, output.node == node, output.at > fault
          else {
            missing =
              "\(name): \(view.status.phase.rawValue) on \(view.status.node ?? "-"), assigned to "
              + "\(view.vm.node ?? "-"), \(processes[id]?.count ?? 0) QEMU(s), last serial output "
              + "from \(output?.node ?? "-")\(output.map { $0.at > fault ? " after" : " before" } ?? "") the fault"
            return nil
          }
        }
        return .now
      }
    } catch {
      throw KazeError(.timeout, "HA VMs not all running again: \(missing)")
    }
  }

  func everyNodeOnline() async throws { try await harness.everyNodeOnline() }

  /// Moves one HA VM onto `node` if it runs none, so that breaking it tests recovery.
  func ensureHAVM(on node: String) async throws {
    guard try await placement()[node, default: []].isEmpty,
      let (_, names) = try await placement().max(by: { $0.value.count < $1.value.count }),
      let name = names.first
    else { return }
    monitor.migrating(name, true)
    defer { monitor.migrating(name, false) }
    _ = try await client().migrate(name, MigrateRequest(to: node), wait: true)
    _ = try await eventually("\(name) running on \(node)", timeout: .seconds(60)) {
      let view = await within(.seconds(5)) { try await self.client().vm(name) }
      return view?.vm.node == node && view?.status.phase == .running
        && view?.status.node == node ? true : nil
    }
  }
}
