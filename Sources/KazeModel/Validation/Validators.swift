import Foundation

/// Checks shared by the API and the CLI, so both refuse the same input with the same words.
public enum Validators {
  /// Names of VMs, images, snapshots and nodes: a DNS label (lowercase letters, digits, '-').
  public static func name(_ value: String, field: String = "name") throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
    guard !value.isEmpty, value.count <= 63, value.allSatisfy({ allowed.contains($0) }),
      value.first != "-", value.last != "-"
    else {
      throw KazeError.invalid(
        field,
        "'\(value)' is not a valid name: use 1-63 lowercase letters, digits and '-', "
          + "starting and ending with a letter or digit", reason: "name.invalid",
        values: ["value": value])
    }
  }

  public static let cpuRange = 1...256
  public static let memoryRange = 16...(4 * 1024 * 1024)

  public static func cpus(_ value: Int, field: String = "cpus") throws {
    guard cpuRange.contains(value) else {
      throw KazeError.invalid(
        field,
        "\(value) is not allowed: a VM has \(cpuRange.lowerBound) to \(cpuRange.upperBound) CPUs",
        reason: "cpus.range",
        values: [
          "value": "\(value)", "min": "\(cpuRange.lowerBound)", "max": "\(cpuRange.upperBound)",
        ])
    }
  }

  public static func memory(_ value: Int, field: String = "memoryMiB") throws {
    guard memoryRange.contains(value) else {
      throw KazeError.invalid(
        field,
        "\(value) MiB is not allowed: memory must be \(memoryRange.lowerBound) to \(memoryRange.upperBound) MiB",
        reason: "memory.range",
        values: [
          "value": "\(value)", "min": "\(memoryRange.lowerBound)",
          "max": "\(memoryRange.upperBound)",
        ])
    }
  }

  public static let maxDiskBytes: Int64 = 64 << 40
  public static let minDiskBytes: Int64 = 1 << 20

  /// Parses sizes like `512M`, `10G`, `1T`, `1048576` (bytes) and `10GiB`.
  public static func size(_ text: String, field: String = "size") throws -> Int64 {
    let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
    var digits = trimmed.prefix { $0.isNumber }
    var unit = trimmed.dropFirst(digits.count)
    if unit.hasSuffix("IB") {
      unit = unit.dropLast(2)
    } else if unit.hasSuffix("B") && unit.count == 2 {
      unit = unit.dropLast()
    }
    let shift: Int64? =
      switch unit {
      case "": 0
      case "K": 10
      case "M": 20
      case "G": 30
      case "T": 40
      default: nil
      }
    if digits.isEmpty { digits = "x" }
    guard let shift, let number = Int64(digits), number > 0, number <= Int64.max >> shift
    else {
      throw KazeError.invalid(
        field, "'\(text)' is not a size: use a positive number with K, M, G or T (e.g. 10G)",
        reason: "size.invalid", values: ["value": text])
    }
    let bytes = number << shift
    guard bytes >= minDiskBytes, bytes <= maxDiskBytes else {
      throw KazeError.invalid(
        field, "'\(text)' is out of range: a disk is 1M to 64T", reason: "size.range",
        values: ["value": text, "min": "1M", "max": "64T"])
    }
    return bytes
  }

  /// Extra kernel arguments: one line, bounded.
  public static func kernelCommandLine(_ value: String, field: String = "cmdline") throws {
    if value.count > 1024 || value.contains("\n") {
      throw KazeError.invalid(
        field, "must be one line of at most 1024 characters", reason: "cmdline.invalid")
    }
  }

  /// A MAC address like 52:54:00:12:34:56, unicast.
  public static func mac(_ value: String, field: String) throws {
    let parts = value.split(separator: ":", omittingEmptySubsequences: false)
    let valid =
      parts.count == 6
      && parts.allSatisfy { $0.count == 2 && UInt8($0, radix: 16) != nil }
      && (UInt8(parts[0], radix: 16) ?? 1) & 1 == 0
    if !valid {
      throw KazeError.invalid(
        field, "'\(value)' is not a unicast MAC address like 52:54:00:12:34:56",
        reason: "mac.invalid", values: ["value": value])
    }
  }

  /// Linux interface names (bridges, taps): 1-15 characters, no '/' or spaces.
  public static func interfaceName(_ value: String, field: String) throws {
    let ok =
      !value.isEmpty && value.count <= 15
      && value.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
    if !ok {
      throw KazeError.invalid(
        field, "'\(value)' is not a network interface name (1-15 characters)",
        reason: "interface.invalid", values: ["value": value])
    }
  }
}

extension Int64 {
  /// 1073741824 → "1.0G".
  public var humanBytes: String {
    let units = ["B", "K", "M", "G", "T", "P"]
    var value = Double(self)
    var index = 0
    while value >= 1024 && index < units.count - 1 {
      value /= 1024
      index += 1
    }
    return index == 0 ? "\(self)B" : String(format: "%.1f%@", value, units[index])
  }
}
