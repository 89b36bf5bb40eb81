/// Where each kind of record lives in the store. One place, so that the API, the controllers and
/// the agents agree and a key never gets spelled two ways.
public enum StoreKeys {
  public static let root = "/kaze/"
  public static let vms = "/kaze/vms/"
  public static let vmStatus = "/kaze/vm-status/"
  public static let nodes = "/kaze/nodes/"
  public static let nodeAlive = "/kaze/node-alive/"
  public static let images = "/kaze/images/"
  public static let snapshots = "/kaze/snapshots/"
  public static let tasks = "/kaze/tasks/"
  public static let events = "/kaze/events/"
  public static let migrations = "/kaze/migrations/"
  public static let maintenance = "/kaze/maintenance/"
  public static let owners = "/kaze/owners/"
  public static let replications = "/kaze/replication/"
  public static let leader = "/kaze/leader"
  public static let clusterConfig = "/kaze/config/cluster"

  public static func vm(_ name: String) -> String { vms + name }
  public static func status(_ vm: String) -> String { vmStatus + vm }
  public static func node(_ name: String) -> String { nodes + name }
  public static func alive(_ node: String) -> String { nodeAlive + node }
  public static func image(_ name: String) -> String { images + name }
  public static func snapshots(of vm: String) -> String { snapshots + vm + "/" }
  public static func snapshot(_ vm: String, _ name: String) -> String { snapshots(of: vm) + name }
  public static func task(_ id: String) -> String { tasks + id }
  public static func maintenance(_ node: String) -> String { maintenance + node }
  /// Who may run the VM: `VMOwner` (node and epoch).
  public static func owner(_ vm: String) -> String { owners + vm }
  /// The VM's current (or last) migration; one at a time per VM.
  public static func migration(_ vm: String) -> String { migrations + vm }
  public static func event(_ id: String) -> String { events + id }
  /// Where a VM's replicated disks have their copies (`Replication`).
  public static func replication(_ vm: String) -> String { replications + vm }

  /// The last path component of a key: the record's name.
  public static func name(of key: String) -> String {
    String(key.split(separator: "/").last ?? "")
  }
}
