import Foundation

/// The JSON of etcd's v3 gRPC gateway. 64-bit numbers travel as strings, keys and values as
/// base64, and fields with default values are left out (a failed txn has no `succeeded`).
enum EtcdWire {
  /// An Int64 that etcd writes as a JSON string (and that it accepts either way).
  struct Int64String: Codable, Sendable, Equatable {
    var value: Int64

    init(_ value: Int64) { self.value = value }

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let text = try? container.decode(String.self), let number = Int64(text) {
        value = number
      } else {
        value = try container.decode(Int64.self)
      }
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.singleValueContainer()
      try container.encode(String(value))
    }
  }

  struct Header: Decodable, Sendable {
    var revision: Int64String?
    var member_id: String?
  }

  struct KV: Decodable, Sendable {
    var key: Data
    var value: Data?
    var create_revision: Int64String?
    var mod_revision: Int64String?
    var version: Int64String?
    var lease: Int64String?
  }

  struct RangeRequest: Encodable, Sendable {
    var key: Data
    var range_end: Data?
    var count_only: Bool?
    var serializable: Bool?
  }

  struct RangeResponse: Decodable, Sendable {
    var header: Header?
    var kvs: [KV]?
  }

  struct PutRequest: Encodable, Sendable {
    var key: Data
    var value: Data
    var lease: Int64String?
  }

  struct DeleteRangeRequest: Encodable, Sendable {
    var key: Data
    var range_end: Data?
  }

  struct Compare: Encodable, Sendable {
    var key: Data
    var target: String
    var result = "EQUAL"
    var mod_revision: Int64String?
    var create_revision: Int64String?
    var value: Data?
  }

  struct RequestOp: Encodable, Sendable {
    var request_put: PutRequest?
    var request_delete_range: DeleteRangeRequest?
  }

  struct TxnRequest: Encodable, Sendable {
    var compare: [Compare]
    var success: [RequestOp]
    var failure: [RequestOp]
  }

  struct TxnResponse: Decodable, Sendable {
    var header: Header?
    var succeeded: Bool?
    var responses: [ResponseOp]?
  }

  struct ResponseOp: Decodable, Sendable {
    var response_delete_range: DeleteRangeResponse?
  }

  struct DeleteRangeResponse: Decodable, Sendable {
    var deleted: Int64String?
  }

  struct LeaseGrantRequest: Encodable, Sendable {
    var TTL: Int64String
  }

  struct LeaseGrantResponse: Decodable, Sendable {
    var ID: Int64String?
    var TTL: Int64String?
    var error: String?
  }

  struct LeaseIDRequest: Encodable, Sendable {
    var ID: Int64String
  }

  struct LeaseKeepAliveResponse: Decodable, Sendable {
    var result: LeaseGrantResponse?
  }

  struct CompactionRequest: Encodable, Sendable {
    var revision: Int64String
    var physical: Bool?
  }

  struct Empty: Codable, Sendable {}

  struct WatchCreate: Encodable, Sendable {
    var create_request: WatchCreateRequest
  }

  struct WatchCreateRequest: Encodable, Sendable {
    var key: Data
    var range_end: Data?
    var start_revision: Int64String?
  }

  struct WatchMessage: Decodable, Sendable {
    var result: WatchResponse?
    var error: ErrorBody?
  }

  struct WatchResponse: Decodable, Sendable {
    var header: Header?
    var created: Bool?
    var canceled: Bool?
    var compact_revision: Int64String?
    var cancel_reason: String?
    var events: [Event]?
  }

  struct Event: Decodable, Sendable {
    var type: String?
    var kv: KV
  }

  struct ErrorBody: Decodable, Sendable {
    var error: String?
    var message: String?
    var code: Int?
  }

  struct Member: Decodable, Sendable {
    var ID: String?
    var name: String?
    var peerURLs: [String]?
    var clientURLs: [String]?
  }

  struct MemberListResponse: Decodable, Sendable {
    var header: Header?
    var members: [Member]?
  }

  struct StatusResponse: Decodable, Sendable {
    var header: Header?
    var version: String?
    var leader: String?
    var raftTerm: String?
  }
}

extension JSONEncoder {
  /// etcd wants base64 bytes, which is Foundation's default `Data` encoding.
  static let etcd: JSONEncoder = JSONEncoder()
}

extension JSONDecoder {
  static let etcd: JSONDecoder = JSONDecoder()
}
