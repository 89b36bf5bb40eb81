import Foundation
import KazeModel

/// Stable MAC addresses: the same VM and NIC index always get the same address, so a guest keeps
/// its interface names and DHCP leases across restarts and moves.
public enum MACAddress {
  /// QEMU's locally administered prefix 52:54:00 followed by 24 bits of FNV-1a over the VM id
  /// and the NIC index.
  public static func stable(vmID: UUID, index: Int) -> String {
    var hash: UInt32 = 0x811c_9dc5
    for byte in Array("\(vmID.uuidString.lowercased())/\(index)".utf8) {
      hash ^= UInt32(byte)
      hash = hash &* 0x0100_0193
    }
    let bytes = [0x52, 0x54, 0x00, (hash >> 16) & 0xff, (hash >> 8) & 0xff, hash & 0xff]
    return bytes.map { String(format: "%02x", Int($0)) }.joined(separator: ":")
  }

  /// The tap device name for a VM's NIC: short (Linux allows 15 characters) and stable.
  public static func tapName(vmID: UUID, index: Int) -> String {
    let id = vmID.uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    return "kz\(id.prefix(9))n\(index)"
  }
}
