/// The files QEMU, kazed and the fence guard share in a VM's run folder on the node that runs
/// it. Socket paths must stay under 108 bytes, which is why the folder is named by VM id.
public struct VMRunFiles: Sendable, Equatable {
  public var directory: String

  public init(directory: String) { self.directory = directory }

  public var pidfile: String { "\(directory)/qemu.pid" }
  public var qmpSocket: String { "\(directory)/qmp.sock" }
  /// Everything the guest printed on its serial console (trimmed at each QEMU start).
  public var consoleLog: String { "\(directory)/console.log" }
  /// The serial console, both ways; QEMU serves one client at a time.
  public var serialSocket: String { "\(directory)/serial.sock" }
  /// The graphical console (RFB), reachable only through kazed: no TCP port.
  public var vncSocket: String { "\(directory)/vnc.sock" }
}
