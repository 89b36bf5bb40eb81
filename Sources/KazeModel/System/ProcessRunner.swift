import Foundation

/// Runs a helper program (qemu-img, ip) to completion and returns what it printed.
public enum ProcessRunner {
  public struct Output: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
  }

  /// Runs `executable` with `arguments`; throws a KazeError naming the program when it fails.
  @discardableResult
  public static func run(_ executable: String, _ arguments: [String], check: Bool = true) throws
    -> Output
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try resolve(executable))
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw KazeError(.unavailable, "cannot run \(executable)", cause: "\(error)")
    }
    // Read both pipes before waiting so a chatty program cannot block on a full pipe.
    let errData = ReadInBackground(err.fileHandleForReading)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let result = Output(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData.wait(), as: UTF8.self))
    if check && result.status != 0 {
      let detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
      throw KazeError(
        .internalError, "\(executable) \(arguments.first ?? "") failed (exit \(result.status))",
        cause: detail.isEmpty ? nil : detail)
    }
    return result
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

/// Drains a pipe on a background thread.
private final class ReadInBackground: @unchecked Sendable {
  private var data = Data()
  private let done = DispatchSemaphore(value: 0)

  init(_ handle: FileHandle) {
    Thread.detachNewThread { [self] in
      data = handle.readDataToEndOfFile()
      done.signal()
    }
  }

  func wait() -> Data {
    done.wait()
    return data
  }
}
