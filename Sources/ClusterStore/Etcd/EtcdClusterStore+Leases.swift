import Foundation
import KazeModel

extension EtcdClusterStore {
  /// etcd counts TTLs in whole seconds (and raises very short ones to its minimum).
  public func grantLease(ttl: Duration) async throws -> LeaseID {
    let seconds = max(
      1,
      Int64(ttl.seconds.rounded(.up)))
    let response: EtcdWire.LeaseGrantResponse = try await call(
      "/v3/lease/grant", EtcdWire.LeaseGrantRequest(TTL: .init(seconds)))
    if let error = response.error, !error.isEmpty {
      throw KazeError(.unavailable, "etcd did not grant a lease: \(error)")
    }
    guard let id = response.ID?.value, id != 0 else {
      throw KazeError(.internalError, "etcd granted a lease without an id")
    }
    return LeaseID(rawValue: id)
  }

  /// One keep-alive round trip; a lease etcd no longer knows has expired (`.notFound`).
  public func keepAlive(_ lease: LeaseID) async throws {
    let response: EtcdWire.LeaseKeepAliveResponse = try await call(
      "/v3/lease/keepalive", EtcdWire.LeaseIDRequest(ID: .init(lease.rawValue)))
    guard let ttl = response.result?.TTL?.value, ttl > 0 else {
      throw KazeError(.notFound, "lease \(lease) has expired or was revoked")
    }
  }

  public func revokeLease(_ lease: LeaseID) async throws {
    do {
      let _: EtcdWire.Empty = try await call(
        "/v3/lease/revoke", EtcdWire.LeaseIDRequest(ID: .init(lease.rawValue)))
    } catch let error as KazeError where error.code == .notFound {
      throw KazeError(.notFound, "lease \(lease) has expired or was revoked")
    }
  }
}
