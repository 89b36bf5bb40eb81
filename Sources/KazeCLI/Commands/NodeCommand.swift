import ArgumentParser
import Foundation
import KazeClient
import KazeModel

struct NodeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "node", abstract: "The nodes VMs run on.",
    subcommands: [List.self, Show.self, MaintenanceCommand.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List nodes.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
      try await KazeCLI.run {
        let nodes = try await options.client().nodes()
        if options.json { return try Output.json(nodes) }
        Output.table(
          ["NAME", "STATE", "ADDRESS", "ACCEL", "VMS", "CPUS", "MEMORY"],
          nodes.map {
            [
              $0.node.name, $0.state.rawValue, $0.node.address, $0.node.accelerator.rawValue,
              "\($0.vmCount)", "\($0.allocatedCPUs)/\($0.node.cpus)",
              "\($0.allocatedMemoryMiB)/\($0.node.memoryMiB) MiB",
            ]
          })
      }
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show a node (the only one, or the one named).")
    @OptionGroup var options: ClientOptions
    @Argument var name: String?

    func run() async throws {
      try await KazeCLI.run {
        let client = try options.client()
        let view: NodeView
        if let name {
          view = try await client.node(name)
        } else {
          let nodes = try await client.nodes()
          guard nodes.count == 1, let only = nodes.first else {
            throw KazeError.invalid(
              "name",
              "the cluster has \(nodes.count) nodes; name one: \(nodes.map(\.node.name).joined(separator: ", "))"
            )
          }
          view = only
        }
        if options.json { return try Output.json(view) }
        let node = view.node
        var rows: [(String, String)] = [
          ("name", node.name), ("state", view.state.rawValue), ("address", node.address),
          ("accelerator", "\(node.accelerator.rawValue) (\(node.acceleratorReason))"),
          ("qemu", node.qemuVersion), ("cpus", "\(view.allocatedCPUs) of \(node.cpus) allocated"),
          ("memory", "\(view.allocatedMemoryMiB) of \(node.memoryMiB) MiB allocated"),
          ("vms", "\(view.vmCount)"), ("started", Output.date(node.startedAt)),
        ]
        if let bridges = node.bridges {
          rows.append(("bridges", bridges.isEmpty ? "none" : bridges.joined(separator: ", ")))
        }
        for pool in node.pools {
          rows.append(
            (
              "pool \(pool.name)",
              "\(pool.kind) \(pool.path), \(pool.freeBytes.humanBytes) free of \(pool.capacityBytes.humanBytes)"
            ))
        }
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
          print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
      }
    }
  }
}

struct TaskCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "task", abstract: "Recent tasks.", subcommands: [List.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List recent tasks.")
    @OptionGroup var options: ClientOptions
    @Option var limit = 20

    func run() async throws {
      try await KazeCLI.run {
        let tasks = try await options.client().tasks(limit: limit)
        if options.json { return try Output.json(tasks) }
        Output.table(
          ["ID", "KIND", "VM", "NODE", "STATE", "MESSAGE"],
          tasks.map {
            [
              $0.id, $0.kind.rawValue, $0.vm ?? "-", $0.node ?? "-", $0.state.rawValue,
              $0.message ?? "",
            ]
          })
      }
    }
  }
}

struct EventCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "events", abstract: "The event log.")
  @OptionGroup var options: ClientOptions
  @Option var limit = 30
  @Option(help: "Only events about this VM.") var vm: String?

  func run() async throws {
    try await KazeCLI.run {
      let events = try await options.client().events(limit: limit, vm: vm)
      if options.json { return try Output.json(events) }
      Output.table(
        ["TIME", "LEVEL", "VM", "NODE", "MESSAGE"],
        events.map {
          [Output.date($0.time), $0.level.rawValue, $0.vm ?? "-", $0.node ?? "-", $0.message]
        })
    }
  }
}
