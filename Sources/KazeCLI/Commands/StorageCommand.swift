import ArgumentParser
import Foundation
import KazeClient
import KazeModel

struct StorageCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "storage", abstract: "Storage pools and replicated disks.",
    subcommands: [Status.self])

  struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Where each replicated disk's two copies are and whether they are in sync.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
      try await KazeCLI.run {
        let records = try await options.client().replications()
        if options.json { return try Output.json(records) }
        var rows: [[String]] = []
        for record in records {
          for (name, disk) in record.disks.sorted(by: { $0.key < $1.key }) {
            rows.append([
              record.vm, name, ReplicationText.state(disk), record.primary,
              record.secondary ?? "-", "\(record.epoch)", Output.date(disk.since),
              disk.lastResync.map {
                "\($0.bytes.humanBytes) in \(String(format: "%.1f", $0.seconds)) s"
              } ?? "-",
              // After a stop and start of the VM: only what changed, or the whole disk.
              disk.tracked == nil ? "full copy" : "changes only",
            ])
          }
        }
        Output.table(
          [
            "VM", "DISK", "STATE", "PRIMARY", "SECONDARY", "EPOCH", "SINCE", "LAST RESYNC",
            "RESYNC ON RESTART",
          ], rows)
        for record in records where record.secondary == nil {
          if let note = record.note { print("\(record.vm): \(note)") }
        }
      }
    }
  }
}

extension VMCommand {
  struct Recover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Start a VM whose node is lost from the secondary copies of its replicated disks.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    @Flag(
      help:
        "Start it even though that copy is not in sync: writes the guest saw complete may be lost."
    )
    var acceptDataLoss = false

    func run() async throws {
      try await KazeCLI.run {
        let view = try await options.client().recover(name, acceptDataLoss: acceptDataLoss)
        if options.json { return try Output.json(view) }
        print("\(name) restarts on \(view.vm.node ?? "-") from its copy there")
      }
    }
  }
}
