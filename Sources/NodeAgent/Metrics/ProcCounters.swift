import Foundation

/// Parsers for the kernel's counters in /proc and /sys that the load graphs are made of. Each
/// takes the file's text, so they are tested without the files.
enum ProcCounters {
  /// Busy and total CPU time of the whole node, in clock ticks (first line of /proc/stat).
  static func cpu(stat text: String) -> (busy: UInt64, total: UInt64)? {
    guard let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
    let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
    guard values.count >= 4 else { return nil }
    // user nice system idle iowait irq softirq steal (guest time is already in user/nice).
    let total = values.prefix(8).reduce(0, +)
    let idle = values[3] + (values.count > 4 ? values[4] : 0)
    return (total - idle, total)
  }

  /// Memory in use (total minus available) and total, in bytes (/proc/meminfo).
  static func memory(meminfo text: String) -> (used: Int64, total: Int64)? {
    var fields: [Substring: Int64] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
      if parts.count >= 2, let kibibytes = Int64(parts[1]) { fields[parts[0]] = kibibytes * 1024 }
    }
    guard let total = fields["MemTotal"], let available = fields["MemAvailable"] else { return nil }
    return (total - available, total)
  }

  /// Bytes read and written by the node's physical disks (/proc/diskstats sectors are 512 bytes
  /// whatever the device's sector size). Partitions, loop, RAM, device-mapper, md and NBD
  /// devices are left out: their I/O is already counted on the disks beneath them.
  static func disks(
    diskstats text: String, wholeDisks: Set<String>
  ) -> (read: UInt64, written: UInt64) {
    var read: UInt64 = 0
    var written: UInt64 = 0
    for line in text.split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count >= 10 else { continue }
      let name = String(fields[2])
      guard wholeDisks.contains(name), !Self.isVirtualDisk(name),
        let sectorsRead = UInt64(fields[5]), let sectorsWritten = UInt64(fields[9])
      else { continue }
      read += sectorsRead * 512
      written += sectorsWritten * 512
    }
    return (read, written)
  }

  static func isVirtualDisk(_ name: String) -> Bool {
    ["loop", "ram", "zram", "dm-", "md", "sr", "nbd"].contains { name.hasPrefix($0) }
  }

  /// Bytes received and sent on every interface but loopback and those `excluded` says
  /// (/proc/net/dev).
  static func network(
    netdev text: String, excluded: (String) -> Bool
  ) -> (received: UInt64, sent: UInt64) {
    var received: UInt64 = 0
    var sent: UInt64 = 0
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].trimmingCharacters(in: .whitespaces)
      let values = line[line.index(after: colon)...].split(separator: " ").compactMap {
        UInt64($0)
      }
      guard name != "lo", !excluded(name), values.count >= 9 else { continue }
      received += values[0]
      sent += values[8]
    }
    return (received, sent)
  }

  /// A process's user plus system CPU time in clock ticks (/proc/PID/stat, fields 14 and 15,
  /// counted after the command name, which may hold spaces and parentheses).
  static func processCPU(stat text: String) -> UInt64? {
    guard let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After ")": state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
    guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12])
    else { return nil }
    return user + system
  }

  /// A process's resident memory in bytes (/proc/PID/statm, second field, in pages).
  static func residentBytes(statm text: String, pageSize: Int64 = 4096) -> Int64? {
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let pages = Int64(fields[1]) else { return nil }
    return pages * pageSize
  }
}
