import Foundation

/// Body of `POST /api/v1/vms/{name}/recover`: start a VM whose node is lost from the secondary
/// copies of its replicated disks.
public struct RecoverVMRequest: Codable, Sendable, Equatable {
  /// Start it even though its secondary copy is not in sync: writes the guest saw complete may
  /// be missing. An admin's decision, never taken by HA.
  public var acceptDataLoss: Bool?

  enum CodingKeys: String, CodingKey, CaseIterable { case acceptDataLoss }

  public init(acceptDataLoss: Bool? = nil) {
    self.acceptDataLoss = acceptDataLoss
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    acceptDataLoss = try c.decodeIfPresent(Bool.self, forKey: .acceptDataLoss)
  }
}
