import ArgumentParser
import Foundation
import KazeClient
import KazeModel

struct ClusterCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cluster", abstract: "The cluster as a whole.",
    subcommands: [Status.self, Set.self])

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Change cluster-wide settings.")
    @OptionGroup var options: ClientOptions
    @Option(help: "CPU model for VMs that name none (e.g. Nehalem); 'default' clears it.")
    var cpuBaseline: String

    func run() async throws {
      try await KazeCLI.run {
        let config = try await options.client().setClusterConfig(
          ClusterConfig(cpuBaseline: cpuBaseline == "default" ? nil : cpuBaseline))
        if options.json { return try Output.json(config) }
        print("CPU baseline: \(config.cpuBaseline ?? "each node's default")")
      }
    }
  }

  struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Quorum, the leader, the nodes and the store's members.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
      try await KazeCLI.run {
        let status = try await options.client().clusterStatus()
        if options.json { return try Output.json(status) }
        let online = status.nodes.filter { $0.state != .offline }.count
        print(
          "store   \(status.store.kind), \(status.store.quorum ? "quorum" : "NO QUORUM") "
            + "(\(status.store.members.filter(\.healthy).count) of \(status.store.members.count) members healthy)"
        )
        print("leader  \(status.leader ?? "none")")
        print(
          "cpu     \(status.config.cpuBaseline ?? "each node's default") (baseline for VMs that name no model)"
        )
        print("nodes   \(online) of \(status.nodes.count) online")
        print("")
        Output.table(
          ["MEMBER", "URL", "HEALTH", "ROLE"],
          status.store.members.map {
            [
              $0.name, $0.url, $0.healthy ? "healthy" : "unreachable",
              $0.isLeader ? "leader" : "follower",
            ]
          })
        print("")
        Output.table(
          ["NODE", "STATE", "ADDRESS", "ROLE"],
          status.nodes.map {
            [$0.name, $0.state.rawValue, $0.address, $0.name == status.leader ? "leader" : ""]
          })
      }
    }
  }
}
