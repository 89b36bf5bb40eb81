import ArgumentParser
import Foundation
import KazeClient
import KazeModel

struct DiskCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "disk", abstract: "A VM's disks.",
    subcommands: [List.self, Add.self, Resize.self, Move.self, Delete.self])

  static func print(_ disks: [DiskView], _ options: ClientOptions) throws {
    if options.json { return try Output.json(disks) }
    Output.table(
      ["NAME", "SIZE", "POOL", "BACKING"],
      disks.map { [$0.name, $0.sizeBytes.humanBytes, $0.pool, $0.backing ?? "-"] })
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a VM's disks.")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String

    func run() async throws {
      try await KazeCLI.run { try DiskCommand.print(try await options.client().disks(vm), options) }
    }
  }

  struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add a new empty disk to a stopped VM.")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String
    @Option(help: "Size, e.g. 10G.") var size: String

    func run() async throws {
      try await KazeCLI.run {
        _ = try Validators.size(size)
        try DiskCommand.print(try await options.client().addDisk(vm, size: size), options)
      }
    }
  }

  struct Resize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Grow a disk (also while the VM runs).")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String
    @Argument var disk: String
    @Option(help: "New size, e.g. 20G.") var size: String

    func run() async throws {
      try await KazeCLI.run {
        _ = try Validators.size(size)
        try DiskCommand.print(
          try await options.client().resizeDisk(vm, disk: disk, size: size), options)
      }
    }
  }

  struct Move: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Move a disk to another storage pool (also while the VM runs).")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String
    @Argument var disk: String
    @Option(name: .customLong("to"), help: "The pool to move it to.") var pool: String

    func run() async throws {
      try await KazeCLI.run {
        let client = try options.client()
        var task = try await client.moveDisk(vm, disk: disk, to: pool)
        let terminal = isatty(STDOUT_FILENO) == 1 && !options.json
        while !task.state.isFinished {
          if terminal {
            let line = String(
              format: "\rmoving %@ of %@ to %@: %3.0f%%  ", disk, vm, pool,
              (task.progress ?? 0) * 100)
            FileHandle.standardOutput.write(Data(line.utf8))
          }
          try await Task.sleep(for: .milliseconds(300))
          task = try await client.task(task.id)
        }
        if terminal { FileHandle.standardOutput.write(Data("\n".utf8)) }
        guard task.state == .succeeded else {
          throw KazeError(.unavailable, task.message ?? "the move failed")
        }
        try DiskCommand.print(try await client.disks(vm), options)
      }
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a disk of a stopped VM.")
    @OptionGroup var options: ClientOptions
    @Argument var vm: String
    @Argument var disk: String

    func run() async throws {
      try await KazeCLI.run {
        try await options.client().deleteDisk(vm, disk: disk)
        if !options.json { Swift.print("deleted \(disk) of \(vm)") }
      }
    }
  }
}
