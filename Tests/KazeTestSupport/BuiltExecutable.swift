import Foundation
import KazeModel

/// The package's built executables (kazed, kaze, kaze-fence), next to the test bundle or in
/// `.build/debug`. A missing one is a test failure: CI builds them (`swift build --build-tests`).
public enum BuiltExecutable {
  public static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

  public static func path(_ name: String) throws -> String {
    var candidates: [String] = []
    if let dir = ProcessInfo.processInfo.environment["KAZE_BIN_DIR"] { candidates.append(dir) }
    if let first = CommandLine.arguments.first {
      candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent().path)
    }
    candidates.append(repository + "/.build/debug")
    for dir in candidates where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
      return "\(dir)/\(name)"
    }
    throw KazeError(
      .notFound, "\(name) is not built (looked in \(candidates.joined(separator: ", ")))")
  }
}
