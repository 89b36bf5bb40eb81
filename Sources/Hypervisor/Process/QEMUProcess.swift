import Foundation
import KazeModel

/// A QEMU process that runs detached from kazed: started with `-daemonize` (its own session,
/// re-parented away from kazed), found again through its pidfile, so VMs keep running while
/// kazed stops or crashes and a restarted kazed reattaches instead of starting a second QEMU.
public struct QEMUProcess: Sendable, Equatable {
  public var pid: Int32
  public var vmID: UUID

  public init(pid: Int32, vmID: UUID) {
    self.pid = pid
    self.vmID = vmID
  }

  /// Starts QEMU and returns once it has daemonized (QEMU's parent exits after start-up, with
  /// any start-up error on its stderr).
  public static func launch(
    vm: VM, arguments: [String], context: QEMULaunchContext
  ) throws
    -> QEMUProcess
  {
    let fm = FileManager.default
    try fm.createDirectory(atPath: context.runDirectory, withIntermediateDirectories: true)
    try? fm.removeItem(atPath: context.pidfilePath)
    for socket in [context.qmpSocketPath, context.serialSocketPath, context.vncSocketPath] {
      try? fm.removeItem(atPath: socket)
    }
    trimConsoleLog(context.consoleLogPath)
    let result = try ProcessRunner.run(QEMUCommandLine.binary, arguments, check: false)
    guard result.status == 0 else {
      let reason = result.stderr.split(separator: "\n").last.map(String.init) ?? "no message"
      throw KazeError(
        .internalError, "QEMU failed to start \(vm.name)",
        cause: reason.replacingOccurrences(of: "qemu-system-x86_64: ", with: ""))
    }
    guard let process = find(vmID: vm.id, context: context) else {
      throw KazeError(.internalError, "QEMU for \(vm.name) exited right after starting")
    }
    return process
  }

  /// The QEMU serving this VM, if its pidfile names a live QEMU started for this VM's id.
  public static func find(vmID: UUID, context: QEMULaunchContext) -> QEMUProcess? {
    guard let text = try? String(contentsOfFile: context.pidfilePath, encoding: .utf8),
      let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    else { return nil }
    let process = QEMUProcess(pid: pid, vmID: vmID)
    return process.isAlive ? process : nil
  }

  /// True while the process exists, is not a zombie, and is the QEMU of this VM (pids get reused).
  public var isAlive: Bool {
    guard ProcessRunner.isRunning(pid),
      let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
    else {
      return false
    }
    let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard let index = args.firstIndex(of: "-uuid"), index + 1 < args.count else { return false }
    return args[index + 1] == vmID.uuidString.lowercased()
  }

  public func signal(_ signal: Int32) {
    guard isAlive else { return }
    _ = Glibc.kill(pid, signal)
  }

  /// Waits (up to `timeout`) for the process to end by itself; whether it did.
  public func waitForExit(timeout: Duration) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while isAlive && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(20))
    }
    return !isAlive
  }

  /// SIGKILL, then waits (up to `timeout`) for the process to be gone.
  public func kill(timeout: Duration = .seconds(10)) async {
    signal(SIGKILL)
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while isAlive && clock.now < deadline {
      try? await Task.sleep(for: .milliseconds(20))
    }
  }

  /// Keeps the serial log from growing without bound across restarts: keeps its last 256 KiB.
  static func trimConsoleLog(_ path: String, keep: Int = 256 * 1024) {
    guard let handle = FileHandle(forReadingAtPath: path) else { return }
    defer { try? handle.close() }
    guard let size = try? handle.seekToEnd(), size > UInt64(keep * 2) else { return }
    try? handle.seek(toOffset: size - UInt64(keep))
    guard let tail = try? handle.readToEnd() else { return }
    // Write beside the log and rename over it (Foundation's `.atomic` would leave a temporary
    // folder behind in /tmp on Linux).
    let temporary = path + ".trimmed"
    guard (try? tail.write(to: URL(fileURLWithPath: temporary))) != nil else { return }
    _ = rename(temporary, path)
  }
}
