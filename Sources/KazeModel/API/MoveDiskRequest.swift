import Foundation

/// Body of `POST /api/v1/vms/{name}/disks/{disk}/move`: move a disk to another storage pool,
/// while the VM runs or not.
public struct MoveDiskRequest: Codable, Sendable, Equatable {
  public var pool: String

  enum CodingKeys: String, CodingKey, CaseIterable { case pool }

  public init(pool: String) {
    self.pool = pool
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    pool = try c.decode(String.self, forKey: .pool)
  }
}
