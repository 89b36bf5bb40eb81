import Foundation
import KazeModel
import KazeTestSupport
import Testing

extension RealGuests {
  /// The chaos suite: every fault several times on one cluster, watched all the time.
  @Suite("Chaos: faults in a three-node cluster with HA VMs")
  struct ChaosTests {
    @Test(
      "power loss, network cut, leader, etcd member, kazed restart, migration target: never twice"
    )
    func chaos() async throws {
      let environment = ProcessInfo.processInfo.environment
      let runs = Int(environment["KAZE_CHAOS_RUNS"] ?? "") ?? 3
      // KAZE_CHAOS_ONLY=etcd runs only the scenarios whose name contains that text.
      let only = environment["KAZE_CHAOS_ONLY"]
      let cluster = try await ChaosCluster.start(haVMs: 4)
      defer { cluster.cleanUp() }
      var results: [(ChaosScenario, [ChaosRun])] = []
      for scenario in ChaosScenario.allCases
      where only.map({ scenario.rawValue.contains($0) }) ?? true {
        var done: [ChaosRun] = []
        for index in 1...runs {
          cluster.monitor.begin("\(scenario.rawValue) #\(index)")
          progress("\(scenario.rawValue) #\(index): starting")
          var run: ChaosRun
          do {
            run = try await cluster.run(scenario)
          } catch {
            run = ChaosRun(problems: ["\(error)"])
          }
          // A kazed that ended by itself is a bug, whatever the scenario did.
          let crashes = cluster.harness.takeCrashes()
          run.problems += crashes
          if run.problems.isEmpty {
            progress(
              "\(scenario.rawValue) #\(index): recovery \(run.recovery.map { "\($0)" } ?? "none")")
          } else {
            let diagnosis = cluster.diagnosis()
            run.problems.append("state then: \(diagnosis)")
            progress(
              "\(scenario.rawValue) #\(index): problems: \(run.problems.joined(separator: "; "))"
                + "; healing the cluster")
            await cluster.heal()
          }
          done.append(run)
        }
        results.append((scenario, done))
      }
      let violations = cluster.monitor.allViolations
      print(ChaosReport(results: results, violations: violations).table)
      for violation in violations { Issue.record("\(violation)") }
      for (scenario, runs) in results {
        for (index, run) in runs.enumerated() where !run.problems.isEmpty {
          Issue.record(
            "\(scenario.rawValue) #\(index + 1): \(run.problems.joined(separator: "; "))")
        }
      }
      #expect(cluster.monitor.worstCounts.values.allSatisfy { $0 == 1 })
    }
  }
}

/// A line on stderr as the suite goes (stdout is only flushed at the end).
func progress(_ line: String) {
  FileHandle.standardError.write(Data("chaos \(Date()): \(line)\n".utf8))
}

/// The table the chaos suite prints: scenario, runs, violations, worst recovery time.
struct ChaosReport {
  var results: [(ChaosScenario, [ChaosRun])]
  var violations: [ChaosMonitor.Violation]

  var table: String {
    var lines = [
      "scenario                         runs  violations  worst recovery",
      "-------------------------------  ----  ----------  --------------",
    ]
    for (scenario, runs) in results {
      let seen = violations.filter { $0.scenario.hasPrefix(scenario.rawValue) }.count
      let problems = runs.filter { !$0.problems.isEmpty }.count
      let worst = runs.compactMap(\.recovery).max()
      let recovery =
        worst.map {
          String(format: "%.2f s", $0.seconds)
        } ?? "no restart"
      lines.append(
        scenario.rawValue.padding(toLength: 33, withPad: " ", startingAt: 0)
          + "\(runs.count)".padding(toLength: 6, withPad: " ", startingAt: 0)
          + "\(seen + problems)".padding(toLength: 12, withPad: " ", startingAt: 0) + recovery)
    }
    return lines.joined(separator: "\n")
  }
}
