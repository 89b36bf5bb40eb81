import Foundation
import KazeModel
import Networking

/// Keeps what the node record says of the host true while kazed runs: a bridge an admin adds
/// or removes shows in the record (and so in placement and the web UI) within one metrics round.
extension NodeAgent {
  func refreshHostFacts() async {
    let bridges = HostBridges.list()
    guard bridges != reportedBridges else { return }
    do {
      try await repository.updateNode(config.name) { $0.bridges = bridges }
      logger.info(
        "bridges on this node: \(bridges.isEmpty ? "none" : bridges.joined(separator: ", "))")
      reportedBridges = bridges
    } catch {
      logger.debug("cannot update the node's bridges: \(error)")
    }
  }
}
