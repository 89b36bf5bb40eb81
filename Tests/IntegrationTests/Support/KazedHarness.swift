import Foundation
import KazeClient
import KazeModel
import KazeTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Where the built executables and the test guest image are. Missing pieces are test failures:
/// CI must have built them (`swift build --build-tests`) and the image (scripts/build-test-image.sh).
enum TestEnvironment {
  static let repository = BuiltExecutable.repository

  static func binary(_ name: String) throws -> String { try BuiltExecutable.path(name) }

  static func testImage() throws -> (kernel: String, initrd: String) {
    let dir = ProcessInfo.processInfo.environment["KAZE_TEST_IMAGE"] ?? repository + "/.test-image"
    let kernel = dir + "/vmlinuz"
    let initrd = dir + "/initrd.img"
    guard FileManager.default.fileExists(atPath: kernel),
      FileManager.default.fileExists(atPath: initrd)
    else {
      throw KazeError(
        .notFound, "the test guest image is missing in \(dir): run scripts/build-test-image.sh")
    }
    return (kernel, initrd)
  }
}

/// One real kazed process on a temporary data folder and its own loopback port. Cleans up
/// everything it started, by PID: kazed and every QEMU whose pidfile is in its data folder.
final class KazedHarness: @unchecked Sendable {
  let name: String
  let dataDir: String
  let port: Int
  let server: String
  let client: KazeClient
  /// Extra kazed options (store, shared pool) for nodes of a cluster.
  let extraArguments: [String]
  private(set) var pid: pid_t = 0

  /// A node on `host` (127.0.0.N) with its data in `dataDir` (a new temporary folder if nil).
  init(
    name: String = "node-1", host: String = "127.0.0.1", dataDir: String? = nil,
    extraArguments: [String] = []
  ) throws {
    self.name = name
    self.dataDir =
      dataDir ?? NSTemporaryDirectory() + "kaze-it-\(UUID().uuidString.prefix(8).lowercased())"
    try FileManager.default.createDirectory(atPath: self.dataDir, withIntermediateDirectories: true)
    port = try FreePort.next(host: host)
    server = "\(host):\(port)"
    client = try KazeClient(server: server)
    self.extraArguments = extraArguments
  }

  /// Starts kazed and waits until its API answers.
  func start() async throws {
    let kazed = try TestEnvironment.binary("kazed")
    let runs =
      (try? FileManager.default.contentsOfDirectory(atPath: dataDir))?.filter {
        $0.hasPrefix("kazed-")
      }.count ?? 0
    pid = try ProcessRunner.spawn(
      kazed,
      [
        "--data-dir", dataDir, "--listen", server, "--accel", "tcg", "--node-name", name,
        "--lease-ttl", "3", "--shutdown-timeout", "8", "--log-level", "debug",
      ] + extraArguments, stdout: "\(dataDir)/kazed-\(runs).out",
      stderr: "\(dataDir)/kazed-\(runs).log")
    try await eventually("kazed answers on \(server)", timeout: .seconds(60)) {
      if ProcessRunner.wait(pid: pid, timeout: .zero) != nil {
        pid = 0
        throw KazeError(.unavailable, "kazed exited: \(log())")
      }
      return try? await client.nodes().first
    }
  }

  /// `kill -9` of kazed, as in a crash; its VMs keep running.
  func crash() {
    guard pid > 0 else { return }
    kill(pid, SIGKILL)
    _ = ProcessRunner.waitBlocking(pid: pid)
    pid = 0
  }

  /// Power loss: kazed, its fence guard and its QEMUs die at once.
  func powerOff() {
    let victims =
      qemuPids() + exportDaemonPids() + [guardPid(), pid > 0 ? pid : nil].compactMap { $0 }
    for victim in victims { kill(victim, SIGKILL) }
    if pid > 0 { _ = ProcessRunner.waitBlocking(pid: pid) }
    pid = 0
  }

  /// The node's fence guard (`kaze-fence`), which kazed starts and which outlives it.
  func guardPid() -> pid_t? { fenceGuardPid(dataDir: dataDir) }

  func stop() {
    guard pid > 0 else { return }
    kill(pid, SIGTERM)
    if ProcessRunner.wait(pid: pid, timeout: .seconds(15)) == nil {
      kill(pid, SIGKILL)
      _ = ProcessRunner.waitBlocking(pid: pid)
    }
    pid = 0
  }

  /// The last `lines` lines kazed wrote to stderr, over its runs in the order they ran.
  func log(lines: Int = 40) -> String {
    let runs =
      (try? FileManager.default.contentsOfDirectory(atPath: dataDir))?.compactMap { file in
        file.hasPrefix("kazed-") && file.hasSuffix(".log")
          ? Int(file.dropFirst("kazed-".count).dropLast(".log".count)) : nil
      }.sorted() ?? []
    return runs.compactMap {
      try? String(contentsOfFile: "\(dataDir)/kazed-\($0).log", encoding: .utf8)
    }
    .joined(separator: "\n").split(separator: "\n").suffix(lines).joined(separator: "\n")
  }

  /// Whether kazed ended without the test stopping it (a crash): then its exit status and the
  /// end of its log, and the harness counts it as stopped (so it can be started again).
  func unexpectedExit() -> String? {
    guard pid > 0, let status = ProcessRunner.wait(pid: pid, timeout: .zero) else { return nil }
    pid = 0
    return "kazed on \(name) exited by itself (status \(status)); its log ends:\n\(log(lines: 30))"
  }

  /// Deletes the tap devices of this node's VMs (`kz` + 9 hex digits of the VM id + `n` + NIC
  /// number): kazed removes a tap when its QEMU stops, but leaves it to a QEMU that still runs
  /// when kazed stops, and the test kills those QEMUs after kazed.
  func deleteTaps() {
    let run = "\(dataDir)/run"
    let ids = (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
    let prefixes = ids.filter { UUID(uuidString: $0) != nil }.map {
      "kz" + $0.lowercased().replacingOccurrences(of: "-", with: "").prefix(9) + "n"
    }
    let interfaces = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
    for tap in interfaces where prefixes.contains(where: { tap.hasPrefix($0) }) {
      _ = try? ProcessRunner.run("ip", ["link", "delete", "dev", tap], check: false)
    }
  }

  /// The node's qemu-storage-daemons (secondary copies served over NBD), by their pidfiles.
  func exportDaemonPids() -> [pid_t] {
    let run = "\(dataDir)/run/nbd"
    let files = (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
    return files.filter { $0.hasPrefix("nbd-") && $0.hasSuffix(".pid") }.compactMap { file in
      guard let text = try? String(contentsOfFile: "\(run)/\(file)", encoding: .utf8),
        let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
        ProcessRunner.isRunning(pid),
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
        String(decoding: data, as: UTF8.self).contains("qemu-storage-daemon")
      else { return nil }
      return pid
    }
  }

  /// QEMU processes started for this data folder, found by their pidfiles.
  func qemuPids() -> [pid_t] {
    let run = "\(dataDir)/run"
    let dirs = (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
    return dirs.compactMap { dir in
      guard let text = try? String(contentsOfFile: "\(run)/\(dir)/qemu.pid", encoding: .utf8),
        let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
        Self.isQEMU(pid, vmID: dir)
      else { return nil }
      return pid
    }
  }

  /// Every QEMU on this machine that runs this VM's guest. A QEMU started with `-daemonize`
  /// forks twice, and its original process waits until the daemon is ready; that waiting parent
  /// has the same command line but never opens the guest's devices, so only processes holding
  /// the serial log open count as a running copy.
  static func qemuProcesses(vmID: String) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { pid_t($0) }.filter { isQEMU($0, vmID: vmID) && runsGuest($0) }
  }

  static func runsGuest(_ pid: pid_t) -> Bool {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    return fds.contains { fd in
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"))?
        .hasSuffix("/console.log") == true
    }
  }

  static func isQEMU(_ pid: pid_t, vmID: String) -> Bool {
    guard ProcessRunner.isRunning(pid),
      let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
    else { return false }
    let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    return args.first?.contains("qemu-system") == true && args.contains(vmID)
  }

  func cleanUp() {
    stop()
    for qemu in qemuPids() + exportDaemonPids() { kill(qemu, SIGKILL) }
    if let guardPid = guardPid() { kill(guardPid, SIGKILL) }
    deleteTaps()
    if ProcessInfo.processInfo.environment["KAZE_KEEP_TEST_DATA"] == "1" {
      print("kept test data in \(dataDir)")
      return
    }
    try? FileManager.default.removeItem(atPath: dataDir)
  }

  /// Runs the `kaze` CLI against this kazed.
  func kaze(_ arguments: String...) throws -> ProcessRunner.Output {
    try kaze(arguments)
  }

  func kaze(_ arguments: [String]) throws -> ProcessRunner.Output {
    try ProcessRunner.run(
      try TestEnvironment.binary("kaze"), arguments + ["--server", server], check: false)
  }

  /// Imports the test guest as image `tiny`.
  func importTestImage() async throws {
    let image = try TestEnvironment.testImage()
    _ = try await client.importImage(
      ImportImageRequest(name: "tiny", kernel: image.kernel, initrd: image.initrd, cmdline: "quiet")
    )
  }

  /// The console lines since the guest's latest boot.
  func consoleSinceBoot(_ vm: String) async throws -> [String] {
    let lines: [String]
    do {
      lines = try await client.console(vm, lines: 400).lines
    } catch let error as KazeError where error.code == .invalidState {
      return []  // not placed on the node yet
    }
    guard let boot = lines.lastIndex(where: { $0.contains("kaze-guest: up") }) else { return [] }
    return Array(lines[boot...])
  }

  /// How many times the guest has booted, counted from its serial log.
  func boots(_ vm: String) async throws -> Int {
    do {
      return try await client.console(vm, lines: 2000).lines.filter {
        $0.contains("kaze-guest: up")
      }.count
    } catch let error as KazeError where error.code == .invalidState {
      return 0
    }
  }

  /// Waits until the guest's boot number `boot` (or any boot when nil) printed a line
  /// containing `text`.
  func waitForConsole(
    _ vm: String, _ text: String, boot: Int? = nil, timeout: Duration = .seconds(120)
  ) async throws {
    _ = try await eventually("\(vm) prints '\(text)'", timeout: timeout) {
      () async throws -> Bool? in
      if let boot, try await boots(vm) != boot { return nil }
      return try await consoleSinceBoot(vm).contains { $0.contains(text) } ? true : nil
    }
  }

  func waitForPhase(
    _ vm: String, _ phase: VMPhase, timeout: Duration = .seconds(120)
  ) async throws -> VMView {
    try await eventually("\(vm) to be \(phase.rawValue)", timeout: timeout) {
      let view = try await client.vm(vm)
      return view.status.phase == phase ? view : nil
    }
  }
}
