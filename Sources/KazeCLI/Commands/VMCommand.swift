import ArgumentParser
import Foundation
import KazeClient
import KazeModel

struct VMCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vm", abstract: "Create, run and delete virtual machines.",
    subcommands: [
      Create.self, List.self, Show.self, Set.self, Start.self, Stop.self, Shutdown.self,
      Reboot.self, Pause.self, Resume.self, Delete.self, Console.self, Migrate.self,
      Recover.self,
    ])

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a VM from an image or template.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Name of the new VM.") var name: String
    @Option(help: "Image or template to create it from.") var image: String
    @Option(help: "Virtual CPUs.") var cpus: Int?
    @Option(help: "Memory in MiB.") var memory: Int?
    @Option(
      name: .customLong("disk"),
      help: "A disk of SIZE (e.g. 10G), or SIZE:POOL (e.g. 10G:replicated); repeat for more.")
    var disks: [String] = []
    @Option(name: .customLong("network"), help: "'user' or 'bridge:NAME'; repeat for more NICs.")
    var networks: [String] = []
    @Option(help: "Extra kernel command line (kernel images).") var cmdline: String?
    @Option(help: "Machine type: pc or q35.") var machine: String?
    @Option(help: "Firmware: bios or uefi.") var firmware: String?
    @Option(name: .customLong("os"), help: "Guest OS type: linux, windows or other.") var osType:
      String?
    @Option(help: "Keep it on the same node as the other VMs of this group.") var affinityGroup:
      String?
    @Option(help: "Keep it on a different node from the other VMs of this group.")
    var antiAffinityGroup: String?
    @Option(help: "Create it on this node (default: the scheduler chooses).") var node: String?
    @Option(
      name: .customLong("node-selector"), help: "A node label KEY=VALUE it needs; repeat for more.")
    var nodeSelector: [String] = []
    @Option(help: "The node for the secondary copies of its disks on the replicated pool.")
    var replicaNode: String?
    @Flag(help: "High availability: restart it on another node when its node fails.") var ha = false
    @Option(help: "HA restart priority, 0-1000 (higher first).") var haPriority: Int?
    @Flag(help: "Accept an HA VM that N+1 admission control refuses.") var force = false
    @Flag(help: "Start the VM once it is created.") var start = false
    @Flag(
      help:
        "No USB tablet: the display gets only a PS/2 mouse (relative pointer). By default a VM has one."
    ) var noTablet = false

    func run() async throws {
      try await KazeCLI.run {
        func parse<E: RawRepresentable & CaseIterable>(
          _ value: String?, _ field: String
        ) throws -> E?
        where E.RawValue == String {
          guard let value else { return nil }
          guard let parsed = E(rawValue: value) else {
            throw KazeError.invalid(
              field,
              "'\(value)' is not allowed; use one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))"
            )
          }
          return parsed
        }
        var selector: [String: String] = [:]
        for label in nodeSelector {
          let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
          guard parts.count == 2, !parts[0].isEmpty else {
            throw KazeError.invalid("node-selector", "'\(label)' is not KEY=VALUE")
          }
          selector[parts[0]] = parts[1]
        }
        let request = CreateVMRequest(
          name: name, image: image, cpus: cpus, memoryMiB: memory,
          disks: disks.isEmpty ? nil : disks.map(DiskRequest.init(commandLine:)),
          nics: networks.isEmpty ? nil : networks.map { NICRequest(network: $0) },
          machine: try parse(machine, "machine"), firmware: try parse(firmware, "firmware"),
          osType: try parse(osType, "os"), cmdline: cmdline, affinityGroup: affinityGroup,
          antiAffinityGroup: antiAffinityGroup, node: node,
          nodeSelector: selector.isEmpty ? nil : selector,
          ha: ha || haPriority != nil ? HAPolicy(priority: haPriority ?? 100) : nil, start: start,
          replicaNode: replicaNode, tablet: noTablet ? false : nil)
        try request.validate()
        let client = try options.client()
        var view = try await client.createVM(request, force: force)
        if start {
          view = try await waitForPhase(client, name, .running)
        }
        if options.json {
          try Output.json(view)
        } else {
          print("created \(name)" + (start ? " and started it" : ""))
        }
      }
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List VMs.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
      try await KazeCLI.run {
        let views = try await options.client().vms()
        if options.json { return try Output.json(views) }
        Output.table(
          ["NAME", "STATE", "NODE", "CPUS", "MEMORY", "IMAGE", "UPTIME"],
          views.map {
            [
              $0.vm.name, $0.status.phase.rawValue, $0.vm.node ?? "-", "\($0.vm.spec.cpus)",
              "\($0.vm.spec.memoryMiB)M", $0.vm.image ?? "-",
              Output.uptime(since: $0.status.startedAt),
            ]
          })
      }
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one VM.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String

    func run() async throws {
      try await KazeCLI.run {
        let view = try await options.client().vm(name)
        if options.json { return try Output.json(view) }
        let vm = view.vm
        let status = view.status
        var rows: [(String, String)] = [
          ("name", vm.name), ("id", vm.id.uuidString.lowercased()),
          ("state", status.phase.rawValue),
          ("wanted", vm.desired.rawValue), ("node", vm.node ?? "-"),
          ("accelerator", status.accelerator ?? "-"), ("pid", status.pid.map(String.init) ?? "-"),
          ("started", Output.date(status.startedAt)), ("image", vm.image ?? "-"),
          ("cpus", "\(vm.spec.cpus)"), ("memory", "\(vm.spec.memoryMiB) MiB"),
          ("machine", "\(vm.spec.machine.rawValue), \(vm.spec.firmware.rawValue)"),
          ("crash restarts", "\(status.crashRestarts)"),
        ]
        for disk in vm.spec.disks {
          rows.append(
            (
              disk.name,
              "\(disk.sizeBytes.humanBytes) on \(disk.pool)"
                + (disk.backingPath.map { " (linked clone of \($0))" } ?? "")
                + (view.replication.map { ReplicationText.disk(disk.name, in: $0) } ?? "")
            ))
        }
        for (index, nic) in vm.spec.nics.enumerated() {
          let network =
            if case .bridge(let bridge) = nic.kind { "bridge \(bridge)" } else { "user" }
          rows.append(("net\(index)", "\(network), \(nic.mac)"))
        }
        if let ha = vm.ha, ha.enabled {
          rows.append(
            (
              "ha",
              "on, priority \(ha.priority), relocations \(vm.haRelocations)/\(ha.maxRelocations)"
                + (ha.preferredNodes.isEmpty
                  ? "" : ", prefers \(ha.preferredNodes.joined(separator: ", "))")
            ))
        } else {
          rows.append(("ha", "off"))
        }
        rows.append(("epoch", "\(vm.epoch)"))
        if let group = vm.spec.affinityGroup { rows.append(("affinity group", group)) }
        if let group = vm.spec.antiAffinityGroup { rows.append(("anti-affinity group", group)) }
        if let error = status.lastError { rows.append(("last error", error)) }
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
          print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
      }
    }
  }

  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Change CPUs, memory or kernel command line (next start).")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    @Option var cpus: Int?
    @Option(help: "Memory in MiB.") var memory: Int?
    @Option var cmdline: String?
    @Option(help: "High availability: on or off.") var ha: String?
    @Option(help: "HA restart priority, 0-1000.") var haPriority: Int?
    @Flag(help: "Accept HA that N+1 admission control refuses.") var force = false

    func run() async throws {
      try await KazeCLI.run {
        var policy: HAPolicy?
        if ha != nil || haPriority != nil {
          let client = try options.client()
          var current = try await client.vm(name).vm.ha ?? HAPolicy(enabled: false)
          switch ha {
          case "on"?: current.enabled = true
          case "off"?: current.enabled = false
          case nil: break
          case let other?: throw KazeError.invalid("ha", "'\(other)' is not allowed; use on or off")
          }
          if let haPriority { current.priority = haPriority }
          policy = current
        }
        let request = UpdateVMRequest(cpus: cpus, memoryMiB: memory, cmdline: cmdline, ha: policy)
        try request.validate()
        let view = try await options.client().updateVM(name, request, force: force)
        if options.json { try Output.json(view) } else { print("updated \(name)") }
      }
    }
  }

  struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a VM and wait until it runs.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    func run() async throws { try await act(.start, name, options) }
  }

  struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a VM at once (pull the plug).")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    func run() async throws { try await act(.stop, name, options) }
  }

  struct Shutdown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Ask the guest to power off (ACPI); stopped hard after the node's timeout.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    func run() async throws { try await act(.shutdown, name, options) }
  }

  struct Reboot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reset a running VM.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    func run() async throws { try await act(.reboot, name, options) }
  }

  struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pause a running VM.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    func run() async throws { try await act(.pause, name, options) }
  }

  struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused VM.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    func run() async throws { try await act(.resume, name, options) }
  }

  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a stopped VM and its disks.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    @Flag(help: "Stop it first if it runs.") var force = false

    func run() async throws {
      try await KazeCLI.run {
        try await options.client().deleteVM(name, force: force)
        if !options.json { print("deleted \(name)") }
      }
    }
  }

  struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a VM's serial console.")
    @OptionGroup var options: ClientOptions
    @Argument var name: String
    @Option(help: "How many of the last lines to print.") var lines = 50
    @Flag(name: .shortAndLong, help: "Keep printing new output until interrupted.") var follow =
      false

    func run() async throws {
      try await KazeCLI.run {
        let client = try options.client()
        var output = try await client.console(name, lines: lines)
        if options.json && !follow { return try Output.json(output) }
        func emit(_ lines: [String]) {
          if lines.isEmpty { return }
          FileHandle.standardOutput.write(Data(lines.map { $0 + "\n" }.joined().utf8))
        }
        emit(output.lines)
        guard follow else { return }
        while true {
          try await Task.sleep(for: .milliseconds(500))
          output = try await client.console(name, offset: output.nextOffset)
          emit(output.lines)
        }
      }
    }
  }
}

func act(_ action: VMAction, _ name: String, _ options: ClientOptions) async throws {
  try await run {
    let view = try await options.client().perform(action, on: name, wait: true)
    if options.json { return try Output.json(view) }
    print("\(name): \(view.status.phase.rawValue)")
  }
}

func waitForPhase(_ client: KazeClient, _ name: String, _ phase: VMPhase) async throws -> VMView {
  let clock = ContinuousClock()
  let deadline = clock.now + .seconds(120)
  while clock.now < deadline {
    let view = try await client.vm(name)
    if view.status.phase == phase { return view }
    if view.status.phase == .failed {
      throw KazeError(.internalError, "\(name) failed: \(view.status.lastError ?? "unknown error")")
    }
    try await Task.sleep(for: .milliseconds(100))
  }
  throw KazeError(.timeout, "\(name) did not reach \(phase.rawValue) in time")
}
