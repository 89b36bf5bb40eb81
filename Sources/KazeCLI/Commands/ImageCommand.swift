import ArgumentParser
import Foundation
import KazeClient
import KazeModel

struct ImageCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "image", abstract: "Images and templates VMs are created from.",
    subcommands: [List.self, Import.self, Template.self, Delete.self])

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List images and templates.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
      try await KazeCLI.run {
        let images = try await options.client().images()
        if options.json { return try Output.json(images) }
        Output.table(
          ["NAME", "KIND", "POOL", "DISK", "FROM", "CREATED"],
          images.map {
            [
              $0.name, $0.kind.rawValue, $0.pool, $0.diskSizeBytes?.humanBytes ?? "-",
              $0.sourceVM ?? "-", Output.date($0.createdAt),
            ]
          })
      }
    }
  }

  struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Import a kernel+initrd pair or a disk image from files on the kazed machine.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    @Option(help: "Kernel file (absolute path on the server).") var kernel: String?
    @Option(help: "Initrd file (absolute path on the server).") var initrd: String?
    @Option(help: "Kernel command line.") var cmdline: String?
    @Option(help: "Disk image file: qcow2, raw, … (absolute path on the server).") var disk: String?

    func run() async throws {
      try await KazeCLI.run {
        func absolute(_ path: String?) -> String? {
          guard let path, !path.hasPrefix("/") else { return path }
          return FileManager.default.currentDirectoryPath + "/" + path
        }
        let request = ImportImageRequest(
          name: name, kernel: absolute(kernel), initrd: absolute(initrd), cmdline: cmdline,
          disk: absolute(disk))
        try request.validate()
        let image = try await options.client().importImage(request)
        if options.json {
          try Output.json(image)
        } else {
          print("imported \(image.name) (\(image.kind.rawValue))")
        }
      }
    }
  }

  struct Template: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a template from a stopped VM; new VMs from it are linked clones.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Name of the new template.") var name: String
    @Option(name: .customLong("from-vm"), help: "The stopped VM to copy.") var vm: String

    func run() async throws {
      try await KazeCLI.run {
        let image = try await options.client().createTemplate(name: name, from: vm)
        if options.json {
          try Output.json(image)
        } else {
          print("template \(image.name) made from \(vm)")
        }
      }
    }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete an image no VM uses.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String

    func run() async throws {
      try await KazeCLI.run {
        try await options.client().deleteImage(name)
        if !options.json { print("deleted image \(name)") }
      }
    }
  }
}
