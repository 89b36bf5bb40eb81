import ArgumentParser
import Foundation
import KazeClient
import KazeModel

/// `kaze-bench`: measures Kaze on this machine and prints the figures (tests never time things).
@main
struct KazeBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kaze-bench", abstract: "Measure Kaze on this machine.",
    subcommands: [
      CreateStart.self, Idle.self, MigrateBench.self, FailoverBench.self, SchedulerBench.self,
      HABench.self, ReplicationBench.self,
    ])
}

struct BenchOptions: ParsableArguments {
  @Option(help: "Folder with vmlinuz and initrd.img of the test guest.")
  var image = FileManager.default.currentDirectoryPath + "/.test-image"

  @Option(help: "Folder with the kazed binary (default: next to kaze-bench).")
  var binDir: String?

  func kazedPath() -> String {
    let dir =
      binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    return dir + "/kazed"
  }
}

/// From the API call that creates and starts a VM from a template (a linked clone) to QEMU
/// running, and to the guest's first tick on the serial console.
struct CreateStart: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create-start", abstract: "Time create+start of linked clones from a template.")
  @OptionGroup var options: BenchOptions
  @Option var runs = 10

  func run() async throws {
    let node = try await BenchNode.start(kazed: options.kazedPath())
    defer { node.stop() }
    let client = node.client
    try await node.importImage(options.image)
    _ = try await client.createVM(
      CreateVMRequest(
        name: "base", image: "tiny", memoryMiB: 256, disks: [DiskRequest(size: "256M")]))
    try await node.waitFor("base", .stopped)
    _ = try await client.createTemplate(name: "tpl", from: "base")
    var toRunning: [Double] = []
    var toTick: [Double] = []
    for index in 1...runs {
      let name = "clone-\(index)"
      let clock = ContinuousClock()
      let start = clock.now
      let view = try await client.createVM(
        CreateVMRequest(name: name, image: "tpl", memoryMiB: 256, start: true))
      try await node.waitFor(name, .running, poll: .milliseconds(5))
      let running = clock.now - start
      let log = node.consoleLog(of: view.vm)
      try await node.until(poll: .milliseconds(10)) {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("tick 1")
      }
      let tick = clock.now - start
      toRunning.append(running.seconds)
      toTick.append(tick.seconds)
      print(
        String(
          format: "run %2d: running after %.3f s, first tick after %.3f s", index, running.seconds,
          tick.seconds))
      _ = try await client.perform(.stop, on: name)
      try await client.deleteVM(name)
    }
    print(
      String(
        format:
          "create+start from template, median of %d: running %.3f s (max %.3f), first tick %.3f s (max %.3f)",
        runs, median(toRunning), toRunning.max() ?? 0, median(toTick), toTick.max() ?? 0))
  }
}

/// kazed's resident memory and CPU use while it supervises `vms` idle guests.
struct Idle: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "idle", abstract: "kazed's RSS and CPU with idle VMs running.")
  @OptionGroup var options: BenchOptions
  @Option var vms = 10
  @Option var seconds = 30

  func run() async throws {
    let node = try await BenchNode.start(kazed: options.kazedPath())
    defer { node.stop() }
    try await node.importImage(options.image)
    for index in 1...vms {
      _ = try await node.client.createVM(
        CreateVMRequest(name: "idle-\(index)", image: "tiny", memoryMiB: 128, start: true))
    }
    for index in 1...vms {
      try await node.waitFor("idle-\(index)", .running, timeout: .seconds(300))
    }
    let views = try await node.client.vms()
    for view in views {
      let log = node.consoleLog(of: view.vm)
      try await node.until(timeout: .seconds(300)) {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("tick 1")
      }
    }
    let before = node.cpuTicks()
    let clock = ContinuousClock()
    let start = clock.now
    try await Task.sleep(for: .seconds(seconds))
    let elapsed = (clock.now - start).seconds
    let used = Double(node.cpuTicks() - before) / Double(sysconf(Int32(_SC_CLK_TCK)))
    print(
      String(
        format: "kazed with %d running VMs: RSS %.1f MiB, CPU %.2f %% of one core over %d s",
        vms, node.rssMiB(), 100 * used / elapsed, seconds))
    for view in views { _ = try await node.client.perform(.stop, on: view.vm.name) }
  }
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  guard !sorted.isEmpty else { return 0 }
  return sorted.count % 2 == 1
    ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
