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
  /// How many "etcd member silent" runs there were (each freezes the next member).
  var frozenRuns = 0

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
    guard
      case .value(let views) = await harness.ask(excluding: avoided, { try await $0.vms() }).answer
    else { return nil }
    return views
  }

  func leader(avoiding avoided: Set<String> = []) async -> String? {
    let client = client(avoiding: avoided)
    return await within(.seconds(5)) { try await client.clusterStatus().leader } ?? nil
  }

  /// HA VMs per node, as assigned in the store.
  func placement(avoiding avoided: Set<String> = []) async throws -> [String: [String]] {
    var failure = "no answer yet"
    let views: [VMView]
    do {
      views = try await eventually("the VM list", timeout: .seconds(30)) {
        () async throws -> [VMView]? in
        let (asked, answer) = await harness.ask(excluding: avoided) { try await $0.vms() }
        switch answer {
        case .value(let views): return views
        case .failed(let why):
          failure = "\(asked): \(why)"
          return nil
        }
      }
    } catch let error as KazeError where error.code == .timeout {
      throw KazeError(.timeout, "no VM list within 30 s; last: \(failure)")
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

  /// What a person would look at first when a run fails: each node's kazed (running or not, the
  /// last warnings of its log) and which etcd members run.
  func diagnosis() -> String {
    var lines: [String] = []
    for node in harness.nodes {
      let warnings = node.log(lines: 400).split(separator: "\n").filter {
        $0.contains(" warning ") || $0.contains(" error ") || $0.contains(" critical ")
          || $0.contains("Fatal error")
      }
      let answer =
        node.pid > 0
        ? "; GET /api/v1/nodes: "
          + HTTPProbe.statusLine(server: node.server, path: "/api/v1/nodes") : ""
      lines.append(
        "\(node.name): kazed \(node.pid > 0 ? "pid \(node.pid)" : "not running")\(answer)"
          + (warnings.isEmpty
            ? "" : "; last warnings: " + warnings.suffix(3).joined(separator: " | ")))
    }
    for member in harness.etcd.members {
      let log = (try? String(contentsOfFile: member.dataDir + ".log", encoding: .utf8)) ?? ""
      let last = log.split(separator: "\n").suffix(2).map { String($0.prefix(240)) }
      lines.append(
        "etcd \(member.name) \(harness.etcd.isRunning(member.name) ? "up" : "down")"
          + (last.isEmpty ? "" : "; log ends: " + last.joined(separator: " | ")))
    }
    return lines.joined(separator: "\n")
  }

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
