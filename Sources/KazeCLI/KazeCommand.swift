import ArgumentParser

/// `kaze`: the command line of Kaze.
public struct KazeCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "kaze",
    abstract: "Manage Kaze virtual machines, images and nodes.",
    subcommands: [
      VMCommand.self, ImageCommand.self, SnapshotCommand.self, DiskCommand.self, NodeCommand.self,
      ClusterCommand.self, StorageCommand.self,
      TaskCommand.self, EventCommand.self,
    ])

  public init() {}
}
