import Foundation

/// The Linux bridges on this host (interfaces with a `bridge` folder in sysfs), which bridged
/// NICs (`bridge:NAME`) can join. Nodes report them so that placement and the web UI know
/// where each network exists.
public enum HostBridges {
  /// Bridge names, sorted; `sysfs` is the folder of network interfaces (`/sys/class/net`).
  public static func list(sysfs: String = "/sys/class/net") -> [String] {
    let interfaces = (try? FileManager.default.contentsOfDirectory(atPath: sysfs)) ?? []
    return interfaces.filter {
      FileManager.default.fileExists(atPath: "\(sysfs)/\($0)/bridge")
    }.sorted()
  }
}
