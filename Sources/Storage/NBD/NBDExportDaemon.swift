import Foundation
import KazeModel

#if canImport(Glibc)
  import Glibc
#endif

/// A qcow2 image served over NBD by `qemu-storage-daemon`, writable: the far end of a disk
/// mirror (the secondary copy of a replicated disk, or a migration target's new disk). It runs
/// detached (`--daemonize`, with a pidfile in `runDirectory`), so it outlives kazed like QEMU.
public struct NBDExportDaemon: Sendable, Equatable {
  public static let binary = "qemu-storage-daemon"

  public var pid: pid_t
  public var host: String
  public var port: Int
  public var export: String

  /// Serves `image` as export `export` on `host:port` and returns once the daemon listens.
  /// With `writethrough`, each write is flushed to the disk before the export acknowledges it:
  /// for a secondary copy, an acknowledged write survives this node's power loss too.
  public static func start(
    image: String, export: String, host: String, port: Int, runDirectory: String,
    writethrough: Bool = false
  ) throws -> NBDExportDaemon {
    try Validators.name(export, field: "export")
    try FileManager.default.createDirectory(
      atPath: runDirectory, withIntermediateDirectories: true)
    let pidfile = pidfilePath(runDirectory, export)
    try? FileManager.default.removeItem(atPath: pidfile)
    let result = try ProcessRunner.run(
      binary,
      [
        "--blockdev", "driver=file,filename=\(escape(image)),node-name=\(export)-file",
        "--blockdev", "driver=qcow2,file=\(export)-file,node-name=\(export)",
        "--nbd-server", "addr.type=inet,addr.host=\(host),addr.port=\(port)",
        "--export",
        exportOption(export) + (writethrough ? ",writethrough=on" : ""),
        "--pidfile", pidfile, "--daemonize",
      ], check: false, timeout: .seconds(30))
    guard result.status == 0 else {
      let reason = result.stderr.split(separator: "\n").last.map(String.init) ?? "no message"
      throw KazeError(
        .unavailable, "cannot serve \(image) over NBD on \(host):\(port)",
        cause: reason.replacingOccurrences(of: "qemu-storage-daemon: ", with: ""))
    }
    guard let daemon = find(export: export, host: host, port: port, runDirectory: runDirectory)
    else {
      throw KazeError(
        .internalError, "qemu-storage-daemon for \(export) exited right after starting")
    }
    return daemon
  }

  /// The daemon serving `export`, if its pidfile names a live qemu-storage-daemon for it.
  public static func find(
    export: String, host: String, port: Int, runDirectory: String
  )
    -> NBDExportDaemon?
  {
    guard
      let text = try? String(
        contentsOfFile: pidfilePath(runDirectory, export), encoding: .utf8),
      let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
      let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
    else { return nil }
    let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard args.first?.hasSuffix(binary) == true,
      args.contains(where: { $0.hasPrefix(exportOption(export)) })
    else { return nil }
    return NBDExportDaemon(pid: pid, host: host, port: port, export: export)
  }

  /// `nbd://host:port/export`, for qemu-img and QEMU.
  public var url: String { "nbd://\(host):\(port)/\(export)" }

  /// Stops the daemon (SIGTERM flushes and closes the image; SIGKILL after `timeout`).
  public func stop(timeout: Duration = .seconds(10)) async {
    _ = Glibc.kill(pid, SIGTERM)
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while isAlive && clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    if isAlive { _ = Glibc.kill(pid, SIGKILL) }
  }

  public var isAlive: Bool { ProcessRunner.isRunning(pid) }

  static func exportOption(_ export: String) -> String {
    "type=nbd,id=\(export)-export,node-name=\(export),name=\(export),writable=on"
  }

  /// The exports whose daemons have pidfiles in `runDirectory` (live or not).
  public static func exports(in runDirectory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []).compactMap {
      name in
      guard name.hasPrefix("nbd-"), name.hasSuffix(".pid") else { return nil }
      return String(name.dropFirst(4).dropLast(4))
    }
  }

  /// Forgets a stopped daemon's pidfile.
  public static func removePidfile(export: String, runDirectory: String) {
    try? FileManager.default.removeItem(atPath: pidfilePath(runDirectory, export))
  }

  static func pidfilePath(_ runDirectory: String, _ export: String) -> String {
    "\(runDirectory)/nbd-\(export).pid"
  }

  /// QEMU's option syntax doubles commas inside values.
  static func escape(_ path: String) -> String { path.replacingOccurrences(of: ",", with: ",,") }
}
