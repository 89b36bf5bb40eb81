import KazeModel

/// Pure placement: feasibility, then scoring, then a decision or an explained refusal.
/// No I/O and no clock: the same snapshot and request always give the same answer.
public enum Placement {
  public struct Decision: Sendable, Equatable {
    public var node: String
    public var score: Double
  }

  public static func place(
    _ request: PlacementRequest, in snapshot: ClusterSnapshot, policy: PlacementPolicy = .init()
  ) throws -> Decision {
    var refusals: [String] = []
    var best: Decision?
    // An affinity group that already has a member somewhere pins the VM to that node.
    let home = request.affinityGroup.flatMap { group in
      snapshot.nodes.first {
        $0.affinityMembers[group]?.contains { $0 != request.vm } == true
      }?.node.name
    }
    for entry in snapshot.nodes {
      if let home, entry.node.name != home {
        refusals.append(
          "\(entry.node.name) is not where affinity group \(request.affinityGroup ?? "") runs (\(home))"
        )
        continue
      }
      if let reason = infeasibility(request, on: entry, policy: policy) {
        refusals.append("\(entry.node.name) \(reason)")
        continue
      }
      let candidate = Decision(
        node: entry.node.name, score: score(request, on: entry, policy: policy))
      if best == nil || candidate.score > best!.score
        || (candidate.score == best!.score && candidate.node < best!.node)
      {
        best = candidate
      }
    }
    if let best { return best }
    if snapshot.nodes.isEmpty {
      throw KazeError(.insufficientResources, "no node has joined the cluster yet")
    }
    throw KazeError(
      .insufficientResources,
      "no node can run \(request.vm) (\(request.cpus) CPUs, \(request.memoryMiB) MiB): "
        + refusals.joined(separator: "; "))
  }

  /// Places many VMs in order, each seeing the ones before it; a VM that fits nowhere gets its
  /// refusal and takes nothing.
  public static func placeAll(
    _ requests: [PlacementRequest], in snapshot: inout ClusterSnapshot,
    policy: PlacementPolicy = .init()
  ) -> [Result<Decision, KazeError>] {
    requests.map { request in
      do {
        let decision = try place(request, in: snapshot, policy: policy)
        snapshot.place(request, on: decision.node)
        return .success(decision)
      } catch let error as KazeError {
        return .failure(error)
      } catch {
        return .failure(KazeError(.internalError, "\(error)"))
      }
    }
  }

  /// Why `entry` cannot take the request, or nil when it can.
  public static func infeasibility(
    _ request: PlacementRequest, on entry: ClusterSnapshot.NodeEntry, policy: PlacementPolicy
  ) -> String? {
    if request.excludedNodes.contains(entry.node.name) { return "is where it runs now" }
    if !entry.online { return "is offline" }
    if entry.node.maintenance { return "is in maintenance" }
    let missing = request.pools.subtracting(entry.node.pools.map(\.name)).sorted()
    if !missing.isEmpty { return "has no pool \(missing.joined(separator: ", "))" }
    // A node that does not report its bridges is not refused: its agent checks at start.
    if let present = entry.node.bridges {
      let absent = request.bridges.subtracting(present).sorted()
      if !absent.isEmpty { return "has no bridge \(absent.joined(separator: ", "))" }
    }
    for (key, value) in request.nodeSelector.sorted(by: { $0.key < $1.key })
    where entry.node.labels[key] != value {
      return "lacks label \(key)=\(value)"
    }
    if let group = request.antiAffinityGroup,
      let members = entry.antiAffinityMembers[group]?.filter({ $0 != request.vm }), !members.isEmpty
    {
      return "already runs \(members.joined(separator: ", ")) of anti-affinity group \(group)"
    }
    if request.cpus > entry.node.cpus * Int(max(1, policy.cpuOvercommit)) {
      return "has only \(entry.node.cpus) CPUs"
    }
    let cpuCapacity = Int(Double(entry.node.cpus) * policy.cpuOvercommit)
    if entry.allocatedCPUs + request.cpus > cpuCapacity {
      return "has \(max(0, cpuCapacity - entry.allocatedCPUs)) vCPUs free"
    }
    let free = freeMemory(entry, policy: policy)
    if request.memoryMiB > free {
      return "has \(max(0, free)) MiB free"
    }
    return nil
  }

  public static func freeMemory(_ entry: ClusterSnapshot.NodeEntry, policy: PlacementPolicy) -> Int
  {
    let capacity = Int(
      Double(entry.node.memoryMiB - policy.reservedMemoryMiB) * policy.memoryOvercommit)
    return capacity - entry.allocatedMemoryMiB
  }

  /// Higher is better. Spread prefers the node with the most free memory share; pack the least.
  static func score(
    _ request: PlacementRequest, on entry: ClusterSnapshot.NodeEntry, policy: PlacementPolicy
  ) -> Double {
    let capacity = max(1, Double(entry.node.memoryMiB - policy.reservedMemoryMiB))
    let freeShare = Double(freeMemory(entry, policy: policy) - request.memoryMiB) / capacity
    let cpuShare =
      1 - Double(entry.allocatedCPUs + request.cpus)
      / max(1, Double(entry.node.cpus) * policy.cpuOvercommit)
    let spread = (freeShare + cpuShare) / 2
    return policy.strategy == .spread ? spread : 1 - spread
  }
}
