import Fencing
import Foundation
import KazeModel
import Logging

/// Keeps one fence guard (`kaze-fence`) running for this node's data folder. A guard started by
/// an earlier kazed is kept (it holds the guard lock); a dead one is started again at the next
/// lease renewal. The guard runs in a session of its own so that it outlives kazed.
public final class FenceGuardLauncher: @unchecked Sendable {
  let directory: FenceDirectory
  let executable: String?
  let arguments: [String]
  let logger: Logger
  private let lock = NSLock()
  private var child: pid_t = 0
  private var lastCheck: ContinuousClock.Instant?
  private var warned = false

  init(directory: FenceDirectory, executable: String?, arguments: [String], logger: Logger) {
    self.directory = directory
    self.executable = executable
    self.arguments = arguments
    self.logger = logger
  }

  /// `kaze-fence` next to the running kazed.
  public static func defaultExecutable() -> String? {
    guard let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    else { return nil }
    let path = URL(fileURLWithPath: own).deletingLastPathComponent().path + "/kaze-fence"
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
  }

  /// Checks (at most once a second) that a guard runs, and starts one if not.
  func ensureRunning() {
    let due: Bool = lock.withLock {
      let now = ContinuousClock.now
      if let lastCheck, now - lastCheck < .seconds(1) { return false }
      lastCheck = now
      if child > 0, ProcessRunner.wait(pid: child, timeout: .zero) != nil { child = 0 }
      return true
    }
    guard due, !directory.guardIsRunning() else { return }
    guard let executable else {
      lock.withLock {
        if !warned {
          logger.error(
            "fencing: kaze-fence is not installed next to kazed; only kazed's own thread fences")
        }
        warned = true
      }
      return
    }
    do {
      let log = directory.path + "/guard.log"
      let pid = try ProcessRunner.spawn(
        executable, ["--dir", directory.path] + arguments, stdout: log, stderr: log,
        newSession: true, appendOutput: true)
      lock.withLock { child = pid }
      logger.info("fencing: started the fence guard (pid \(pid))")
    } catch {
      logger.error("fencing: cannot start the fence guard: \(error)")
    }
  }
}
