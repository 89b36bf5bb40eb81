import ArgumentParser
import Foundation
import KazeClient
import KazeModel

/// Options every command takes: where kazed is, and whether to print JSON.
public struct ClientOptions: ParsableArguments {
  @Option(
    name: .long,
    help: "kazed's API address (HOST:PORT); default $KAZE_SERVER or \(KazeClient.defaultServer)")
  public var server: String?

  @Flag(name: .long, help: "Print JSON instead of a table.")
  public var json = false

  public init() {}

  func client() throws -> KazeClient {
    let address =
      server ?? ProcessInfo.processInfo.environment["KAZE_SERVER"] ?? KazeClient.defaultServer
    return try KazeClient(server: address)
  }
}

/// Runs a command's body; a KazeError becomes one line on stderr and exit status 1.
func run(_ body: () async throws -> Void) async throws {
  do {
    try await body()
  } catch let error as KazeError {
    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
    throw ExitCode(error.code == .invalidArgument ? 2 : 1)
  }
}

enum Output {
  static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
  }()

  static func json(_ value: some Encodable) throws {
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
  }

  /// Prints rows as aligned columns under a header.
  static func table(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows {
      for (index, cell) in row.enumerated() where index < widths.count {
        widths[index] = max(widths[index], cell.count)
      }
    }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { index, cell in
        index == cells.count - 1
          ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
      }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
  }

  static func date(_ date: Date?) -> String {
    guard let date else { return "-" }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
  }

  static func uptime(since date: Date?) -> String {
    guard let date else { return "-" }
    let seconds = Int(Date().timeIntervalSince(date))
    if seconds < 120 { return "\(seconds)s" }
    if seconds < 7200 { return "\(seconds / 60)m" }
    return "\(seconds / 3600)h"
  }
}
