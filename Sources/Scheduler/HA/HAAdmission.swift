import KazeModel

/// N+1 admission control: would the cluster still restart every HA VM if any one node failed?
/// Pure: the same snapshot always gives the same answer.
public enum HAAdmission {
  /// Why some HA VM could not be restarted after some node's failure, or nil when every single
  /// node failure is survivable. `adding` is a VM about to become HA, assumed on the node whose
  /// loss hurts most.
  public static func shortfall(
    vms: [VM], adding candidate: VM? = nil, in snapshot: ClusterSnapshot,
    policy: PlacementPolicy = .init()
  ) -> String? {
    let usable = snapshot.nodes.filter { $0.online && !$0.node.maintenance }
    guard usable.count >= 2 else {
      return
        "HA needs at least two nodes to restart a VM elsewhere; \(usable.count) can run VMs now"
    }
    let ha = vms.filter { $0.ha?.enabled == true && $0.name != candidate?.name }
    for failing in usable {
      var rest = ClusterSnapshot(nodes: snapshot.nodes.filter { $0.node.name != failing.node.name })
      var victims = ha.filter { $0.node == failing.node.name }
      if var candidate {
        candidate.node = failing.node.name
        victims.append(candidate)
      }
      victims.sort { ($0.ha?.priority ?? 0, $1.name) > ($1.ha?.priority ?? 0, $0.name) }
      let requests = victims.map { vm -> PlacementRequest in
        var request = PlacementRequest(for: vm)
        request.excludedNodes = [failing.node.name]
        return request
      }
      for (vm, result) in zip(victims, Placement.placeAll(requests, in: &rest, policy: policy)) {
        if case .failure(let error) = result {
          return "if \(failing.node.name) failed, \(vm.name) could not restart (\(error.message))"
        }
      }
    }
    return nil
  }
}
