import ArgumentParser
import Foundation
import KazeClient
import KazeModel

struct SnapshotCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot", abstract: "Disk snapshots of stopped VMs.",
    subcommands: [List.self, Create.self, Revert.self, Delete.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a VM's snapshots.")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String

    func run() async throws {
      try await KazeCLI.run {
        let snapshots = try await options.client().snapshots(vm)
        if options.json { return try Output.json(snapshots) }
        Output.table(
          ["NAME", "CREATED", "DESCRIPTION"],
          snapshots.map { [$0.name, Output.date($0.createdAt), $0.description ?? ""] })
      }
    }
  }

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Snapshot every disk of a stopped VM.")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String
    @Argument var name: String
    @Option var description: String?

    func run() async throws {
      try await KazeCLI.run {
        let snapshot = try await options.client().createSnapshot(
          vm, name: name, description: description)
        if options.json {
          try Output.json(snapshot)
        } else {
          print("snapshot \(name) of \(vm) taken")
        }
      }
    }
  }

  struct Revert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Put a stopped VM's disks back to a snapshot.")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String
    @Argument var name: String

    func run() async throws {
      try await KazeCLI.run {
        try await options.client().revertSnapshot(vm, name: name)
        if !options.json { print("\(vm) reverted to \(name)") }
      }
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a snapshot.")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String
    @Argument var name: String

    func run() async throws {
      try await KazeCLI.run {
        try await options.client().deleteSnapshot(vm, name: name)
        if !options.json { print("deleted snapshot \(name) of \(vm)") }
      }
    }
  }
}
