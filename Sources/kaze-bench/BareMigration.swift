import Foundation
import KazeModel
import KazeTestSupport
import QMP

#if canImport(Glibc)
  import Glibc
#endif

/// Two plain QEMU processes and QMP `migrate` between them: the baseline Kaze is measured
/// against. Same guest, same devices and the same migration parameters as Kaze uses.
struct BareMigration {
  let image: String

  struct Result {
    var total: Double
    var downtime: Double
  }

  func run(times: Int) async throws -> [Result] {
    var results: [Result] = []
    for run in 1...times {
      let dir = NSTemporaryDirectory() + "kaze-bare-\(UUID().uuidString.prefix(8).lowercased())"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let port = try FreePort.next()
      let source = try launch(dir: dir + "/source", incoming: nil)
      let target = try launch(dir: dir + "/target", incoming: "tcp:127.0.0.1:\(port)")
      defer {
        kill(source, SIGKILL)
        kill(target, SIGKILL)
      }
      let clock = ContinuousClock()
      let deadline = clock.now + .seconds(120)
      while !((try? String(contentsOfFile: dir + "/source/console.log", encoding: .utf8)) ?? "")
        .contains("tick 2")
      {
        if clock.now > deadline { throw KazeError(.timeout, "the bare guest did not boot") }
        try await Task.sleep(for: .milliseconds(50))
      }
      let qmp = try await QMPClient.connectWhenReady(socketPath: dir + "/source/qmp.sock")
      _ = try await qmp.execute(
        "migrate-set-parameters",
        arguments: .object(["downtime-limit": .int(30), "max-bandwidth": .int(100 << 30)]))
      _ = try await qmp.execute(
        "migrate", arguments: .object(["uri": .string("tcp:127.0.0.1:\(port)")]))
      var status = try await qmp.execute("query-migrate")
      while !["completed", "failed", "cancelled"].contains(status["status"]?.stringValue ?? "") {
        try await Task.sleep(for: .milliseconds(20))
        status = try await qmp.execute("query-migrate")
      }
      await qmp.close()
      guard status["status"]?.stringValue == "completed" else {
        throw KazeError(.internalError, "bare migration failed: \(status)")
      }
      let result = Result(
        total: Double(status["total-time"]?.intValue ?? 0) / 1000,
        downtime: Double(status["downtime"]?.intValue ?? 0))
      print(
        String(
          format: "bare run %d: total %.3f s, downtime %.0f ms", run, result.total, result.downtime)
      )
      results.append(result)
    }
    return results
  }

  private func launch(dir: String, incoming: String?) throws -> pid_t {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var args = [
      "-accel", "tcg,thread=multi", "-cpu", "qemu64", "-m", "256", "-smp", "1", "-nodefaults",
      "-no-user-config", "-display", "none", "-daemonize", "-pidfile", dir + "/qemu.pid",
      "-qmp", "unix:\(dir)/qmp.sock,server=on,wait=off",
      "-chardev", "file,id=serial0,path=\(dir)/console.log,append=on", "-serial", "chardev:serial0",
      "-kernel", image + "/vmlinuz", "-initrd", image + "/initrd.img",
      "-append", "console=ttyS0 quiet", "-netdev", "user,id=net0",
      "-device", "virtio-net-pci,netdev=net0,id=net0-dev,mac=52:54:00:12:34:56",
      "-device", "virtio-balloon-pci,id=balloon0",
    ]
    if let incoming { args += ["-incoming", incoming] }
    try ProcessRunner.run("qemu-system-x86_64", args)
    let text = try String(contentsOfFile: dir + "/qemu.pid", encoding: .utf8)
    guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw KazeError(.internalError, "no pid for the bare QEMU")
    }
    return pid
  }
}
