import KazeModel

/// Whether a running VM can move between two nodes without its guest noticing. Pure.
public enum MigrationCheck {
  /// The reason the move would break the VM, or nil when it is safe.
  /// `runningModel` is the CPU model the VM runs with now (from its status), when known.
  public static func incompatibility(
    of vm: VM, from source: Node, to target: Node, runningModel: String? = nil
  ) -> String? {
    if source.accelerator != target.accelerator {
      return "\(source.name) runs VMs with \(source.accelerator.rawValue) and \(target.name) with "
        + "\(target.accelerator.rawValue); a VM cannot move between them"
    }
    let model = runningModel ?? cpuModel(of: vm, on: source)
    if model == "host" && source.hostCPU != target.hostCPU {
      return "\(vm.name) uses the host CPU of \(source.name) (\(source.hostCPU ?? "unknown")) and "
        + "\(target.name) has \(target.hostCPU ?? "an unknown CPU"); give the VM a named CPU model "
        + "such as x86-64-v2 to move it"
    }
    // Disks on local (and replicated) pools are copied to the target during the migration
    // (shared-nothing); the target needs the same pool.
    let localPools = Set(source.pools.filter { $0.kind == "dir" }.map(\.name))
    let targetPools = Set(target.pools.map(\.name))
    if let disk = vm.spec.disks.first(where: {
      localPools.contains($0.pool) && !targetPools.contains($0.pool)
    }) {
      return "\(disk.name) of \(vm.name) is on local pool '\(disk.pool)', which \(target.name) "
        + "does not have"
    }
    if let disk = vm.spec.disks.first(where: { $0.pool == Replication.poolName }),
      !target.pools.contains(where: { $0.name == Replication.poolName })
    {
      return
        "\(disk.name) of \(vm.name) is on the replicated pool, which \(target.name) does not have"
    }
    return nil
  }

  /// The CPU model QEMU runs the VM with on `node` (the same rule as the command line).
  public static func cpuModel(of vm: VM, on node: Node) -> String {
    vm.spec.cpuModel ?? (node.accelerator == .kvm ? "host" : "qemu64")
  }
}
