import AsyncHTTPClient
import Foundation
import KazeModel
import NIOCore
import NIOFoundationCompat

extension EtcdClusterStore {
  /// Every member etcd knows, asked one by one (1 s each) whether it answers and who leads.
  public func storeStatus() async -> StoreStatus {
    guard
      let list: EtcdWire.MemberListResponse = try? await call(
        "/v3/cluster/member/list", EtcdWire.Empty())
    else {
      return StoreStatus(
        kind: "etcd", quorum: false,
        members: endpoints.map { StoreMember(name: "?", url: $0, healthy: false, isLeader: false) })
    }
    var members: [StoreMember] = []
    for member in list.members ?? [] {
      let url = member.clientURLs?.first ?? "?"
      let status = await memberStatus(url)
      members.append(
        StoreMember(
          name: member.name ?? member.ID ?? "?", url: url, healthy: status != nil,
          isLeader: status?.leader != nil && status?.leader == member.ID))
    }
    let healthy = members.filter(\.healthy).count
    return StoreStatus(kind: "etcd", quorum: healthy * 2 > members.count, members: members)
  }

  /// The member's own status, or nil when it does not answer within `timeout`.
  func memberStatus(
    _ url: String, timeout: Duration = .seconds(1)
  ) async -> EtcdWire.StatusResponse? {
    var request = HTTPClientRequest(url: url + "/v3/maintenance/status")
    request.method = .POST
    request.body = .bytes(ByteBuffer(string: "{}"))
    guard let response = try? await http.execute(request, timeout: Self.timeAmount(timeout)),
      response.status == .ok,
      let body = try? await response.body.collect(upTo: 1 << 20)
    else { return nil }
    return try? JSONDecoder.etcd.decode(EtcdWire.StatusResponse.self, from: Data(buffer: body))
  }
}
