import Foundation
import KazeModel

#if canImport(Glibc)
  import Glibc
#endif

/// A process whose command line carries `-uuid ID` and a pidfile in `<runDirectory>/<ID>/` like
/// a node's QEMU, for tests of what finds and kills guests by their VM id. It is a shell loop,
/// so killing it leaves at most a 0.2 s `sleep` behind.
public final class FakeGuestProcess: Sendable {
  public let pid: pid_t
  public let vmID: String

  public init(vmID: String = UUID().uuidString.lowercased(), runDirectory: String) throws {
    self.vmID = vmID
    pid = try ProcessRunner.spawn(
      "/bin/sh",
      [
        "-c", "while :; do sleep 0.2; done", "sh", "-uuid", vmID, "-pidfile",
        "\(runDirectory)/\(vmID)/qemu.pid",
      ], stdout: "/dev/null", stderr: "/dev/null")
  }

  /// True until the process has exited (and is reaped here).
  public var isAlive: Bool { ProcessRunner.wait(pid: pid, timeout: .zero) == nil }

  public func kill() {
    _ = Glibc.kill(pid, SIGKILL)
    _ = ProcessRunner.wait(pid: pid, timeout: .seconds(2))
  }
}
