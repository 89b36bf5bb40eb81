import ArgumentParser
import Foundation
import KazeClient
import KazeModel

extension NodeCommand {
  struct MaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "maintenance", abstract: "Take a node out of service and back.",
      subcommands: [Enter.self, Exit.self, Show.self])

    static func report(_ record: Maintenance, json: Bool) throws {
      if json { return try Output.json(record) }
      print("\(record.node): \(record.state.rawValue)")
      for (vm, target) in record.moved.sorted(by: { $0.key < $1.key }) {
        print("  moved \(vm) to \(target)")
      }
      for (vm, reason) in record.blocked.sorted(by: { $0.key < $1.key }) {
        print("  could not move \(vm): \(reason)")
      }
    }

    struct Enter: AsyncParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "Move every VM off the node (live migration) and stop scheduling onto it.")
      @OptionGroup var options: ClientOptions
      @Argument var name: String
      @Flag(help: "Return once maintenance is recorded.") var noWait = false

      func run() async throws {
        try await KazeCLI.run {
          let client = try options.client()
          var record = try await client.enterMaintenance(name)
          var reported = Set<String>()
          while !noWait && record.state == .evacuating {
            try await Task.sleep(for: .milliseconds(300))
            record = try await client.maintenance(name)
            if !options.json {
              for (vm, target) in record.moved where !reported.contains(vm) {
                reported.insert(vm)
                print("moving \(vm) to \(target)")
              }
            }
          }
          try MaintenanceCommand.report(record, json: options.json)
        }
      }
    }

    struct Exit: AsyncParsableCommand {
      static let configuration = CommandConfiguration(
        abstract: "Make the node schedulable again; --move-back brings its VMs back.")
      @OptionGroup var options: ClientOptions
      @Argument var name: String
      @Flag(help: "Live-migrate the VMs that were moved away back to this node.") var moveBack =
        false
      @Flag(help: "Return at once.") var noWait = false

      func run() async throws {
        try await KazeCLI.run {
          let client = try options.client()
          var record = try await client.exitMaintenance(name, moveBack: moveBack)
          while !noWait && record.state == .returning {
            try await Task.sleep(for: .milliseconds(300))
            record = try await client.maintenance(name)
          }
          try MaintenanceCommand.report(record, json: options.json)
        }
      }
    }

    struct Show: AsyncParsableCommand {
      static let configuration = CommandConfiguration(abstract: "Show the node's maintenance.")
      @OptionGroup var options: ClientOptions
      @Argument var name: String

      func run() async throws {
        try await KazeCLI.run {
          try MaintenanceCommand.report(
            try await options.client().maintenance(name), json: options.json)
        }
      }
    }
  }
}
