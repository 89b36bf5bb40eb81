import KazeModel

/// Which nodes have which Linux bridge, as a refusal names them: `br0 (node-1, node-2), lab
/// (node-3)`.
struct BridgeList: CustomStringConvertible {
  var nodes: [Node]

  var description: String {
    var owners: [String: [String]] = [:]
    for node in nodes {
      for bridge in node.bridges ?? [] { owners[bridge, default: []].append(node.name) }
    }
    return owners.keys.sorted().map {
      "\($0) (\(owners[$0, default: []].sorted().joined(separator: ", ")))"
    }.joined(separator: ", ")
  }
}
