import ArgumentParser
import Foundation
import KazeClient
import KazeModel

extension VMCommand {
  struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Live-migrate a running VM to another node, showing progress.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    @Option(help: "Target node (default: the scheduler picks one).") var to: String?
    @Option(help: "Downtime limit of the final switch-over, ms (default 30).") var downtime: Int?
    @Option(help: "Bandwidth cap, MiB/s (default: unlimited).") var bandwidth: Int?
    @Flag(help: "Return once the migration is recorded.") var noWait = false

    func run() async throws {
      try await KazeCLI.run {
        let request = MigrateRequest(to: to, downtimeLimitMs: downtime, bandwidthMiBps: bandwidth)
        try request.validate()
        let client = try options.client()
        var migration = try await client.migrate(name, request)
        if noWait {
          if options.json { return try Output.json(migration) }
          print("migration of \(name) to \(migration.target) recorded")
          return
        }
        let bar = ProgressBar(enabled: !options.json && isatty(1) != 0)
        while migration.isActive {
          try await Task.sleep(for: .milliseconds(200))
          migration = try await client.migration(name)
          bar.show(migration)
        }
        bar.finish()
        if options.json { return try Output.json(migration) }
        guard migration.state == .completed else {
          throw KazeError(
            .internalError, "migration of \(name) failed: \(migration.error ?? "no reason given")")
        }
        let seconds = Double(migration.progress.totalTimeMs ?? 0) / 1000
        print(
          "migrated \(name) from \(migration.source) to \(migration.target) in "
            + String(format: "%.2f s (downtime %d ms)", seconds, migration.progress.downtimeMs ?? 0)
        )
      }
    }
  }
}

/// A one-line progress bar redrawn in place on a terminal.
struct ProgressBar {
  let enabled: Bool

  func show(_ migration: Migration) {
    guard enabled else { return }
    let progress = migration.progress
    let width = 30
    let filled = Int(Double(width) * min(100, progress.percent) / 100)
    let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
    let eta = progress.etaSeconds.map { String(format: ", ETA %.0f s", $0) } ?? ""
    // One bar for both phases of a shared-nothing migration: "disks", then "memory".
    let stage =
      progress.phase.map { "\(migration.state.rawValue) (\($0))" } ?? migration.state.rawValue
    let line = String(
      format: "\r%@ [%@] %5.1f%%  %@ of %@%@   ", stage, bar, progress.percent,
      progress.transferredBytes.humanBytes, progress.totalBytes.humanBytes, eta)
    FileHandle.standardOutput.write(Data(line.utf8))
  }

  func finish() {
    if enabled { FileHandle.standardOutput.write(Data("\n".utf8)) }
  }
}
