import Foundation
import KazeTestSupport

/// Watches every VM of a cluster all the time, from outside kazed: every 100 ms it looks at the
/// QEMU processes on this machine and at the growth of each node's serial log for the VM.
/// A violation is any sample where one VM runs twice: two QEMUs executing it (a waiting
/// `-incoming` QEMU counts only outside a live migration of that VM), or serial output from two
/// nodes within one short sample interval.
final class ChaosMonitor: @unchecked Sendable {
  struct Violation: CustomStringConvertible {
    var scenario: String
    var vm: String
    var detail: String
    var description: String { "[\(scenario)] \(vm): \(detail)" }
  }

  struct QEMU {
    var pid: pid_t
    var incoming: Bool
  }

  private let lock = NSLock()
  private let vms: [String: String]
  private let nodes: [(name: String, dataDir: String)]
  private var scenario = "setup"
  private var migrating: Set<String> = []
  private var violations: [Violation] = []
  private var worst: [String: Int] = [:]
  private var logSizes: [String: [String: Int]] = [:]
  private var lastOutput: [String: (node: String, at: ContinuousClock.Instant)] = [:]
  private var task: Task<Void, Never>?

  /// `vms`: name → id (lower-case); `nodes`: name and data folder of each node.
  init(vms: [String: String], nodes: [(name: String, dataDir: String)]) {
    self.vms = vms
    self.nodes = nodes
  }

  func start() {
    task = Task.detached { [self] in
      var previous = ContinuousClock.now
      while !Task.isCancelled {
        let now = ContinuousClock.now
        sample(interval: now - previous, at: now)
        previous = now
        try? await Task.sleep(for: .milliseconds(100))
      }
    }
  }

  /// Returns once every VM has been sampled at least once.
  func waitForFirstSample() async {
    while lock.withLock({ worst.count }) < vms.count {
      try? await Task.sleep(for: .milliseconds(20))
    }
  }

  func stop() {
    task?.cancel()
    task = nil
  }

  func begin(_ scenario: String) { lock.withLock { self.scenario = scenario } }

  /// While a VM live-migrates, its waiting target QEMU is expected.
  func migrating(_ vm: String, _ active: Bool) {
    _ = lock.withLock { active ? migrating.insert(vm).inserted : migrating.remove(vm) != nil }
  }

  var allViolations: [Violation] { lock.withLock { violations } }

  /// The most QEMUs executing each VM seen at one sample.
  var worstCounts: [String: Int] { lock.withLock { worst } }

  /// The node whose serial log for the VM grew last, and when.
  func lastOutput(of vm: String) -> (node: String, at: ContinuousClock.Instant)? {
    lock.withLock { lastOutput[vm] }
  }

  private func sample(interval: Duration, at now: ContinuousClock.Instant) {
    let processes = Self.qemuProcesses()
    for (name, id) in vms {
      let copies = processes[id] ?? []
      let executing = copies.filter { !$0.incoming }
      var grew: [String] = []
      var sizes: [String: Int] = [:]
      for node in nodes {
        let path = "\(node.dataDir)/run/\(id)/console.log"
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        sizes[node.name] = size
        if let before = lock.withLock({ logSizes[name]?[node.name] }), before != size {
          grew.append(node.name)
        }
      }
      lock.withLock {
        logSizes[name] = sizes
        if let node = grew.last { lastOutput[name] = (node, now) }
        worst[name] = max(worst[name] ?? 0, executing.count)
        let allowed = migrating.contains(name) ? 2 : 1
        if executing.count > 1 || copies.count > allowed {
          violations.append(
            Violation(
              scenario: scenario, vm: name,
              detail: "\(copies.count) QEMUs at once: \(copies.map(\.pid))"))
        }
        // Serial output is only conclusive when the sample came on time (a guest prints at most
        // once a second, so two nodes' logs growing within 400 ms means two running guests).
        if grew.count > 1 && interval < .milliseconds(400) {
          violations.append(
            Violation(
              scenario: scenario, vm: name,
              detail: "serial output from \(grew.joined(separator: " and ")) in one sample"))
        }
      }
    }
  }

  /// Every QEMU on this machine that executes a guest, by VM id. A QEMU started with
  /// `-daemonize` forks twice and its original process waits for the daemon; that parent never
  /// opens the guest's devices, so only processes holding the serial log open count.
  static func qemuProcesses() -> [String: [QEMU]] {
    var found: [String: [QEMU]] = [:]
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for pid in entries.compactMap({ pid_t($0) }) {
      guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else {
        continue
      }
      let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
      guard args.first?.contains("qemu-system") == true,
        let index = args.firstIndex(of: "-uuid"), index + 1 < args.count,
        KazedHarness.runsGuest(pid)
      else { continue }
      found[args[index + 1], default: []].append(
        QEMU(pid: pid, incoming: args.contains("-incoming")))
    }
    return found
  }
}
