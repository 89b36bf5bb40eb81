import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A QEMU started for a test, with its QMP socket.
struct QEMUInstance: Sendable {
  let socketPath: String
  let pid: Int32
}

/// The QEMU binary: `$QEMU_SYSTEM_X86_64`, or `qemu-system-x86_64` on `$PATH`.
func qemuExecutable() throws -> URL {
  let environment = ProcessInfo.processInfo.environment
  if let path = environment["QEMU_SYSTEM_X86_64"], !path.isEmpty {
    return URL(fileURLWithPath: path)
  }
  let directories = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
    .split(separator: ":")
  for directory in directories {
    let candidate = "\(directory)/qemu-system-x86_64"
    if FileManager.default.isExecutableFile(atPath: candidate) {
      return URL(fileURLWithPath: candidate)
    }
  }
  throw TestSupportError("qemu-system-x86_64 not found on PATH; install QEMU to run these tests")
}

/// Starts `qemu-system-x86_64 -machine none` with a QMP server socket, waits for the socket,
/// runs `body`, then kills that QEMU by its PID and removes its directory, whatever happens.
func withQEMU<T>(
  extraArguments: [String] = [], _ body: (QEMUInstance) async throws -> T
) async throws -> T {
  let directory = try makeTemporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: directory) }
  let socketPath = directory + "/qmp.sock"

  let process = Process()
  process.executableURL = try qemuExecutable()
  process.arguments =
    [
      "-machine", "none", "-nodefaults", "-display", "none", "-nographic",
      "-qmp", "unix:\(socketPath),server=on,wait=off",
    ] + extraArguments
  process.standardInput = FileHandle.nullDevice
  process.standardOutput = FileHandle.nullDevice
  let stderrPath = directory + "/stderr.log"
  // Not FileManager.createFile: on Linux it writes atomically through a temporary folder in
  // /tmp that it then leaves behind.
  try Data().write(to: URL(fileURLWithPath: stderrPath))
  let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
  defer { try? stderr.close() }
  process.standardError = stderr
  try process.run()
  let pid = process.processIdentifier
  defer {
    if process.isRunning {
      kill(pid, SIGKILL)
    }
    process.waitUntilExit()
  }

  // Wait (generously) for QEMU to create its socket.
  let clock = ContinuousClock()
  let deadline = clock.now.advanced(by: .seconds(30))
  while !FileManager.default.fileExists(atPath: socketPath) {
    guard process.isRunning else {
      let log = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
      throw TestSupportError("QEMU exited with status \(process.terminationStatus): \(log)")
    }
    guard clock.now < deadline else {
      throw TestSupportError("QEMU did not create \(socketPath)")
    }
    try await Task.sleep(for: .milliseconds(20))
  }
  return try await body(QEMUInstance(socketPath: socketPath, pid: pid))
}
