import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Runs helper programs (qemu-img, ip, QEMU itself) with posix_spawn and waitpid. Output goes
/// to temporary files rather than pipes, so a program that daemonizes (QEMU with `-daemonize`)
/// cannot keep a pipe open and hang its caller; Foundation's `Process` is avoided because its
/// child reaping does not mix well with a server's concurrency on Linux.
public enum ProcessRunner {
  public struct Output: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
  }

  /// Runs `executable` to completion; throws a KazeError naming the program when it fails
  /// (unless `check` is false).
  @discardableResult
  public static func run(
    _ executable: String, _ arguments: [String], check: Bool = true, timeout: Duration? = nil
  ) throws -> Output {
    let path = try resolve(executable)
    let base = NSTemporaryDirectory() + "kaze-run-\(getpid())-\(UUID().uuidString.prefix(8))"
    let outPath = base + ".out"
    let errPath = base + ".err"
    defer {
      unlink(outPath)
      unlink(errPath)
    }
    let pid = try spawn(path, arguments, stdout: outPath, stderr: errPath)
    let status: Int32
    if let timeout {
      guard let finished = wait(pid: pid, timeout: timeout) else {
        _ = Glibc.kill(pid, SIGKILL)
        _ = waitBlocking(pid: pid)
        throw KazeError(.timeout, "\(executable) did not finish within \(timeout)")
      }
      status = finished
    } else {
      status = waitBlocking(pid: pid)
    }
    let result = Output(
      status: status,
      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    if check && result.status != 0 {
      let detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
      throw KazeError(
        .internalError, "\(executable) \(arguments.first ?? "") failed (exit \(result.status))",
        cause: detail.isEmpty ? nil : detail)
    }
    return result
  }

  /// Starts a program with stdin from /dev/null and stdout/stderr into the given files. With
  /// `newSession` it runs in a session of its own (no terminal signals reach it), for helpers
  /// that must outlive their parent.
  public static func spawn(
    _ path: String, _ arguments: [String], stdout: String, stderr: String,
    newSession: Bool = false, appendOutput: Bool = false
  )
    throws -> pid_t
  {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    let mode = O_WRONLY | O_CREAT | (appendOutput ? O_APPEND : O_TRUNC)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, mode, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, mode, 0o600)
    closeInheritedDescriptors(&actions)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    // POSIX_SPAWN_SETSID (glibc 2.26+), which Swift's Glibc module does not expose.
    let setsid: Int32 = newSession ? 0x80 : 0
    posix_spawnattr_setflags(
      &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setsid))
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    guard result == 0 else {
      throw KazeError(.unavailable, "cannot run \(path)", cause: String(cString: strerror(result)))
    }
    return pid
  }

  private typealias CloseFrom =
    @convention(c) (
      UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32
    ) -> Int32

  /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module
  /// does not expose.
  private static let closeFrom: CloseFrom? = {
    guard
      let symbol = dlsym(
        UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
    else { return nil }
    return unsafeBitCast(symbol, to: CloseFrom.self)
  }()

  /// The child gets only stdin, stdout and stderr. Without this a daemonized QEMU would keep
  /// kazed's listening socket and database open, and a restarted kazed could not bind its port.
  private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    if let closeFrom, closeFrom(&actions, 3) == 0 { return }
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in open.compactMap({ Int32($0) }) where fd > 2 {
      if fcntl(fd, F_GETFD) != -1 { _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) }
    }
  }

  /// True while `pid` exists and is neither a zombie nor dead (its parent has not reaped it, or
  /// it is not ours to reap).
  public static func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
    return state != "Z" && state != "X"
  }

  /// Waits for a child to exit and returns its exit status (128+signal if it was killed).
  public static func waitBlocking(pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
      if errno != EINTR { return -1 }
    }
    return decode(status)
  }

  /// Waits up to `timeout` for a child; nil if it is still running.
  public static func wait(pid: pid_t, timeout: Duration) -> Int32? {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var status: Int32 = 0
    while true {
      let result = waitpid(pid, &status, WNOHANG)
      if result == pid { return decode(status) }
      if result == -1 && errno != EINTR { return -1 }
      if clock.now >= deadline { return nil }
      usleep(20_000)
    }
  }

  static func decode(_ status: Int32) -> Int32 {
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }

  /// Finds a program on PATH (or the usual sbin folders), or throws naming the missing program.
  public static func resolve(_ executable: String) throws -> String {
    if executable.hasPrefix("/") { return executable }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
      let candidate = "\(dir)/\(executable)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw KazeError(.unavailable, "\(executable) is not installed (not found on PATH)")
  }
}
