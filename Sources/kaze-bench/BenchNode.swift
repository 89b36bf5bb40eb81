import Foundation
import KazeClient
import KazeModel
import KazeTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// A kazed started for one benchmark on a temporary data folder; stopped with its VMs after.
final class BenchNode: @unchecked Sendable {
  let dataDir: String
  let client: KazeClient
  let name: String
  private(set) var pid: pid_t

  private init(dataDir: String, client: KazeClient, name: String, pid: pid_t) {
    self.dataDir = dataDir
    self.client = client
    self.name = name
    self.pid = pid
  }

  /// A kazed on `host` (a 127.0.0.N address); `extra` adds options such as the etcd store.
  static func start(
    kazed: String, name: String = "bench", host: String = "127.0.0.1", extra: [String] = []
  ) async throws -> BenchNode {
    let dataDir = NSTemporaryDirectory() + "kaze-bench-\(UUID().uuidString.prefix(8).lowercased())"
    try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    let port = try FreePort.next(host: host)
    let pid = try ProcessRunner.spawn(
      kazed,
      [
        "--data-dir", dataDir, "--listen", "\(host):\(port)", "--accel", "tcg", "--log-level",
        "warning", "--node-name", name,
      ] + extra,
      stdout: dataDir + "/kazed.out", stderr: dataDir + "/kazed.log")
    let node = BenchNode(
      dataDir: dataDir, client: try KazeClient(server: "\(host):\(port)"), name: name, pid: pid)
    try await node.until(timeout: .seconds(60)) {
      (try? await node.client.nodes().isEmpty) == false
    }
    return node
  }

  func importImage(_ dir: String) async throws {
    _ = try await client.importImage(
      ImportImageRequest(
        name: "tiny", kernel: dir + "/vmlinuz", initrd: dir + "/initrd.img", cmdline: "quiet"))
  }

  func consoleLog(of vm: VM) -> String {
    "\(dataDir)/run/\(vm.id.uuidString.lowercased())/console.log"
  }

  func waitFor(
    _ vm: String, _ phase: VMPhase, poll: Duration = .milliseconds(50),
    timeout: Duration = .seconds(120)
  )
    async throws
  {
    try await until(poll: poll, timeout: timeout) {
      try await self.client.vm(vm).status.phase == phase
    }
  }

  func until(
    poll: Duration = .milliseconds(50), timeout: Duration = .seconds(120),
    _ check: () async throws -> Bool
  ) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while try await !check() {
      if clock.now > deadline { throw KazeError(.timeout, "benchmark step timed out") }
      try await Task.sleep(for: poll)
    }
  }

  /// utime + stime of kazed, in clock ticks.
  func cpuTicks() -> Int {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
  }

  func rssMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    let kib = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    return kib / 1024
  }

  /// Power loss: kazed, its fence guard and every QEMU it started die at once.
  func powerLoss() {
    let pids = qemuPids() + [fenceGuardPid(dataDir: dataDir)].compactMap { $0 }
    crash()
    for pid in pids { kill(pid, SIGKILL) }
  }

  func qemuPids() -> [pid_t] {
    let run = dataDir + "/run"
    return ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).compactMap { dir in
      guard let text = try? String(contentsOfFile: "\(run)/\(dir)/qemu.pid", encoding: .utf8) else {
        return nil
      }
      return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
  }

  /// Where this node writes the serial log of a VM it runs.
  func consoleLogPath(vmName: String, client: KazeClient) -> String {
    let run = dataDir + "/run"
    for dir in (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [] {
      let path = "\(run)/\(dir)/console.log"
      if FileManager.default.fileExists(atPath: path),
        let cmdline = try? String(contentsOfFile: "\(run)/\(dir)/qemu.pid", encoding: .utf8),
        let pid = pid_t(cmdline.trimmingCharacters(in: .whitespacesAndNewlines)),
        let args = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
        String(decoding: args, as: UTF8.self).contains("guest=\(vmName),")
      {
        return path
      }
    }
    return "/nonexistent"
  }

  /// `kill -9` of kazed alone (its VMs keep running).
  func crash() {
    guard pid > 0 else { return }
    kill(pid, SIGKILL)
    _ = ProcessRunner.waitBlocking(pid: pid)
    pid = 0
  }

  func stop() {
    // kazed first: one still running would start the QEMUs, export daemons or guard again.
    if pid > 0 {
      kill(pid, SIGTERM)
      if ProcessRunner.wait(pid: pid, timeout: .seconds(10)) == nil {
        kill(pid, SIGKILL)
        _ = ProcessRunner.waitBlocking(pid: pid)
      }
    }
    let run = dataDir + "/run"
    for dir in (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [] {
      killOwned(pidfile: "\(run)/\(dir)/qemu.pid", mentioning: dir)
    }
    // The replicated pool's export daemons (qemu-storage-daemon), one pidfile per export.
    for file in (try? FileManager.default.contentsOfDirectory(atPath: run + "/nbd")) ?? []
    where file.hasSuffix(".pid") {
      killOwned(pidfile: "\(run)/nbd/\(file)", mentioning: dataDir)
    }
    if let guardPid = fenceGuardPid(dataDir: dataDir) { kill(guardPid, SIGKILL) }
    try? FileManager.default.removeItem(atPath: dataDir)
  }

  /// Kills the process a pidfile names if its command line mentions `text` (pids get reused).
  private func killOwned(pidfile: String, mentioning text: String) {
    guard let content = try? String(contentsOfFile: pidfile, encoding: .utf8),
      let process = pid_t(content.trimmingCharacters(in: .whitespacesAndNewlines)),
      let cmdline = FileManager.default.contents(atPath: "/proc/\(process)/cmdline"),
      String(decoding: cmdline, as: UTF8.self).contains(text)
    else { return }
    kill(process, SIGKILL)
  }
}
