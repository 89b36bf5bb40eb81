import Foundation
import KazeModel

extension EtcdClusterStore {
  public func get(_ key: String) async throws -> KeyValue? {
    try Self.validate(key: key)
    let response: EtcdWire.RangeResponse = try await call(
      "/v3/kv/range", EtcdWire.RangeRequest(key: Self.bytes(key)))
    return response.kvs?.first.map(Self.keyValue)
  }

  public func list(prefix: String) async throws -> (items: [KeyValue], revision: Revision) {
    let response: EtcdWire.RangeResponse = try await call(
      "/v3/kv/range",
      EtcdWire.RangeRequest(
        key: prefix.isEmpty ? Data([0]) : Self.bytes(prefix),
        range_end: Self.rangeEnd(ofPrefix: prefix)))
    return ((response.kvs ?? []).map(Self.keyValue), response.header?.revision?.value ?? 0)
  }

  @discardableResult
  public func put(
    _ key: String, _ value: Data, lease: LeaseID?, ifModRevision: Revision?
  )
    async throws -> Revision
  {
    try Self.validate(key: key)
    let compares: [Compare] = ifModRevision.map { [.modRevision(key, equals: $0)] } ?? []
    let result = try await txn(if: compares, then: [.put(key, value, lease: lease)], else: [])
    if !result.succeeded {
      throw KazeError(
        .conflict,
        ifModRevision == 0
          ? "'\(key)' already exists" : "'\(key)' changed since revision \(ifModRevision ?? 0)")
    }
    return result.revision
  }

  @discardableResult
  public func delete(_ key: String, ifModRevision: Revision?) async throws -> Bool {
    try Self.validate(key: key)
    let compares: [Compare] = ifModRevision.map { [.modRevision(key, equals: $0)] } ?? []
    let request = EtcdWire.TxnRequest(
      compare: try compares.map(Self.wire),
      success: [EtcdWire.RequestOp(request_delete_range: .init(key: Self.bytes(key)))],
      failure: [])
    let response: EtcdWire.TxnResponse = try await call("/v3/kv/txn", request)
    guard response.succeeded == true else {
      throw KazeError(.conflict, "'\(key)' changed since revision \(ifModRevision ?? 0)")
    }
    let deleted = response.responses?.first?.response_delete_range?.deleted?.value ?? 0
    return deleted > 0
  }

  public func txn(
    if compares: [Compare], then: [TxnOp], else otherwise: [TxnOp]
  ) async throws
    -> TxnResult
  {
    for compare in compares { try Self.validate(key: compare.key, field: "compare.key") }
    for operation in then + otherwise {
      if case .put(let key, _, _) = operation { try Self.validate(key: key, field: "op.key") }
      if case .delete(let key) = operation { try Self.validate(key: key, field: "op.key") }
    }
    let request = EtcdWire.TxnRequest(
      compare: try compares.map(Self.wire), success: then.map(Self.wire),
      failure: otherwise.map(Self.wire))
    let response: EtcdWire.TxnResponse = try await call("/v3/kv/txn", request)
    return TxnResult(
      succeeded: response.succeeded == true, revision: response.header?.revision?.value ?? 0)
  }

  public func currentRevision() async throws -> Revision {
    let response: EtcdWire.RangeResponse = try await call(
      "/v3/kv/range", EtcdWire.RangeRequest(key: Data([0]), count_only: true))
    return response.header?.revision?.value ?? 0
  }

  /// etcd keeps revisions from its compaction point on; compacting at `revision - 1` keeps
  /// `revision` watchable, as the protocol asks.
  public func compactHistory(before revision: Revision) async throws {
    let current = try await currentRevision()
    guard revision <= current else {
      throw KazeError(
        .invalidArgument, "cannot compact before revision \(revision): the store is at \(current)",
        field: "revision")
    }
    guard revision > 1 else { return }
    do {
      let _: EtcdWire.Empty = try await call(
        "/v3/kv/compaction",
        EtcdWire.CompactionRequest(revision: .init(revision - 1), physical: true))
    } catch let error as KazeError where error.code == .compacted {
      return  // already compacted at least that far
    }
  }

  static func wire(_ compare: Compare) throws -> EtcdWire.Compare {
    switch compare {
    case .modRevision(let key, let revision):
      EtcdWire.Compare(key: bytes(key), target: "MOD", mod_revision: .init(revision))
    case .createRevision(let key, let revision):
      EtcdWire.Compare(key: bytes(key), target: "CREATE", create_revision: .init(revision))
    case .value(let key, let value):
      EtcdWire.Compare(key: bytes(key), target: "VALUE", value: value)
    }
  }

  static func wire(_ operation: TxnOp) -> EtcdWire.RequestOp {
    switch operation {
    case .put(let key, let value, let lease):
      EtcdWire.RequestOp(
        request_put: .init(key: bytes(key), value: value, lease: lease.map { .init($0.rawValue) }))
    case .delete(let key):
      EtcdWire.RequestOp(request_delete_range: .init(key: bytes(key)))
    case .deletePrefix(let prefix):
      EtcdWire.RequestOp(
        request_delete_range: .init(
          key: prefix.isEmpty ? Data([0]) : bytes(prefix), range_end: rangeEnd(ofPrefix: prefix)))
    }
  }
}
