import Foundation
import KazeModel

/// Reads a VM's serial log file.
struct ConsoleLog {
  let path: String

  func size() -> Int64 {
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
  }

  /// The bytes from `offset` to the end (at most 1 MiB), and the offset after them.
  func bytes(from offset: Int64, limit: Int = 1 << 20) -> (Data, Int64) {
    guard let handle = FileHandle(forReadingAtPath: path) else { return (Data(), 0) }
    defer { try? handle.close() }
    let end = Int64((try? handle.seekToEnd()) ?? 0)
    if offset > end { return (Data(), end) }
    try? handle.seek(toOffset: UInt64(offset))
    let data = (try? handle.read(upToCount: limit)) ?? Data()
    return (data, offset + Int64(data.count))
  }

  /// The last `count` bytes (from the start of a line when it can), for a new console viewer.
  func tail(bytes count: Int) -> Data {
    let start = max(0, size() - Int64(count))
    let (data, _) = bytes(from: start)
    guard start > 0, let newline = data.firstIndex(of: UInt8(ascii: "\n")) else { return data }
    return data[data.index(after: newline)...]
  }

  func read(lines count: Int, from offset: Int64?) -> ConsoleOutput {
    if let offset {
      let (data, next) = bytes(from: offset)
      // Only hand out complete lines, so the caller can continue exactly where they end.
      guard let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else {
        return ConsoleOutput(lines: [], nextOffset: min(offset, next))
      }
      let complete = data[data.startIndex...lastNewline]
      return ConsoleOutput(
        lines: Self.split(complete), nextOffset: offset + Int64(complete.count))
    }
    let end = size()
    let start = max(0, end - Int64(count * 200 + 4096))
    let (data, next) = bytes(from: start)
    var lines = Self.split(data)
    if start > 0 && !lines.isEmpty { lines.removeFirst() }
    return ConsoleOutput(lines: Array(lines.suffix(count)), nextOffset: next)
  }

  static func split(_ data: Data) -> [String] {
    String(decoding: data, as: UTF8.self)
      .replacingOccurrences(of: "\r", with: "")
      .split(separator: "\n", omittingEmptySubsequences: false)
      .map(String.init)
      .dropLast(data.last == UInt8(ascii: "\n") ? 1 : 0)
  }
}
