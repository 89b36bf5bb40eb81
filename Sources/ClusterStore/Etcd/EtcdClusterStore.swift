import AsyncHTTPClient
import Foundation
import KazeModel
import Logging
import NIOCore
import NIOFoundationCompat

/// `ClusterStore` on etcd's v3 API through its JSON gateway (etcd 3.4, Debian's `etcd-server`).
/// Talks to any member it is given; when one does not answer it moves on to the next, so the
/// store keeps working while a member restarts as long as the cluster has quorum.
public final class EtcdClusterStore: ClusterStore {
  public struct Options: Sendable {
    /// How long one request may take before the next member is tried.
    public var requestTimeout: Duration
    /// How often the members that watch streams come from are asked whether they still answer
    /// (a member that lost power keeps its connections open and silent).
    public var watchCheckInterval: Duration
    /// A member with a request unanswered for this long is passed over by new requests (they
    /// start at the next member) until it answers again: a silent member must not hold up the
    /// node's lease renewals for a whole `requestTimeout`, or the node would fence.
    public var slowAfter: Duration

    public init(
      requestTimeout: Duration = .seconds(5), watchCheckInterval: Duration = .seconds(2),
      slowAfter: Duration = .milliseconds(400)
    ) {
      self.requestTimeout = requestTimeout
      self.watchCheckInterval = watchCheckInterval
      self.slowAfter = slowAfter
    }
  }

  struct State {
    var preferred = 0
    var closed = false
    var watches: [UUID: Task<Void, Never>] = [:]
    /// The open watch connections, by id: the member each streams from.
    var connections: [UUID: WatchConnection] = [:]
    /// Checks the members of open watch connections (started with the first watch).
    var checker: Task<Void, Never>?
    /// When each unanswered request to a member (by index) was sent.
    var outstanding: [Int: [UUID: ContinuousClock.Instant]] = [:]

    /// The member a new request starts at: the preferred one, unless it has a request
    /// unanswered for `slowAfter`; then the next one that has none.
    func firstMember(count: Int, now: ContinuousClock.Instant, slowAfter: Duration) -> Int {
      for offset in 0..<count {
        let index = (preferred + offset) % count
        let oldest = outstanding[index]?.values.min()
        if oldest.map({ now - $0 < slowAfter }) ?? true { return index }
      }
      return preferred
    }
  }

  let endpoints: [String]
  let options: Options
  let logger: Logger
  let http: HTTPClient
  let state = LockedValue(State())

  /// `endpoints` are `http://host:port` client URLs (or `host:port`) of etcd members.
  public init(
    endpoints: [String], options: Options = Options(),
    logger: Logger = Logger(label: "kaze.etcd")
  ) throws {
    let normalized = endpoints.map { $0.contains("://") ? $0 : "http://\($0)" }
    guard !normalized.isEmpty else {
      throw KazeError.invalid("store", "give at least one etcd endpoint")
    }
    for endpoint in normalized {
      guard let url = URL(string: endpoint), url.host != nil, url.scheme == "http" else {
        throw KazeError.invalid(
          "store", "'\(endpoint)' is not an etcd client URL like http://127.0.0.1:2379")
      }
    }
    self.endpoints = normalized
    self.options = options
    self.logger = logger
    // Every watch holds an HTTP/1 connection for as long as it runs; AsyncHTTPClient's default
    // of 8 connections per member would let a leader's watches starve its ordinary requests.
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(
      idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
    self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }

  /// Parses `etcd://host:port[,host:port…]` as given to `kazed --store`.
  public static func endpoints(fromStoreURL text: String) throws -> [String] {
    guard text.hasPrefix("etcd://") else {
      throw KazeError.invalid(
        "store", "'\(text)' is not an etcd URL like etcd://127.0.0.1:2379[,…]")
    }
    let list = text.dropFirst("etcd://".count).split(separator: ",").map {
      "http://" + $0.trimmingCharacters(in: .whitespaces)
    }
    guard !list.isEmpty, list.allSatisfy({ URL(string: $0)?.port != nil }) else {
      throw KazeError.invalid("store", "'\(text)' needs HOST:PORT for every member")
    }
    return list
  }

  public func close() async {
    let watches = state.withLock { state -> [Task<Void, Never>] in
      state.closed = true
      defer { state.watches.removeAll() }
      return Array(state.watches.values)
    }
    state.withLock { $0.checker }?.cancel()
    for watch in watches { watch.cancel() }
    for watch in watches { await watch.value }
    try? await http.shutdown()
  }

  deinit {
    try? http.syncShutdown()
  }

  // MARK: - Requests

  /// POSTs `body` to `path` on the preferred member, failing over to the others.
  func call<Response: Decodable>(
    _ path: String, _ body: some Encodable, as type: Response.Type = Response.self
  ) async throws -> Response {
    if state.withLock({ $0.closed }) {
      throw KazeError(.unavailable, "the etcd store is closed")
    }
    let payload = try JSONEncoder.etcd.encode(body)
    let count = endpoints.count
    let slowAfter = options.slowAfter
    let start = state.withLock {
      $0.firstMember(count: count, now: .now, slowAfter: slowAfter)
    }
    var failures: [String] = []
    for offset in 0..<endpoints.count {
      let index = (start + offset) % endpoints.count
      let endpoint = endpoints[index]
      let token = UUID()
      state.withLock { $0.outstanding[index, default: [:]][token] = .now }
      defer { state.withLock { _ = $0.outstanding[index]?.removeValue(forKey: token) } }
      var request = HTTPClientRequest(url: endpoint + path)
      request.method = .POST
      request.headers.add(name: "Content-Type", value: "application/json")
      request.body = .bytes(ByteBuffer(bytes: payload))
      let data: Data
      let status: UInt
      do {
        let response = try await http.execute(
          request, timeout: Self.timeAmount(options.requestTimeout))
        status = response.status.code
        data = Data(buffer: try await response.body.collect(upTo: 64 << 20))
      } catch {
        failures.append("\(endpoint): \(error)")
        continue
      }
      if status == 200 {
        state.withLock { $0.preferred = index }
        do {
          return try JSONDecoder.etcd.decode(Response.self, from: data)
        } catch {
          throw KazeError(.internalError, "cannot read etcd's answer to \(path)", cause: "\(error)")
        }
      }
      let body = try? JSONDecoder.etcd.decode(EtcdWire.ErrorBody.self, from: data)
      let message =
        body?.message ?? body?.error ?? String(decoding: data.prefix(200), as: UTF8.self)
      if let error = Self.map(code: body?.code, message: message, path: path) { throw error }
      failures.append("\(endpoint): \(status) \(message)")
    }
    throw KazeError(
      .unavailable, "no etcd member answered \(path)", cause: failures.joined(separator: "; "))
  }

  /// etcd's gRPC codes that are the caller's business rather than a member's trouble.
  static func map(code: Int?, message: String, path: String) -> KazeError? {
    switch code {
    case 3: KazeError(.invalidArgument, "etcd refused \(path): \(message)")
    case 5: KazeError(.notFound, "etcd: \(message)")
    case 11 where message.contains("compacted"): KazeError(.compacted, "etcd: \(message)")
    case 9 where message.contains("compacted"): KazeError(.compacted, "etcd: \(message)")
    default:
      message.contains("required revision has been compacted")
        ? KazeError(.compacted, "etcd: \(message)") : nil
    }
  }

  static func timeAmount(_ duration: Duration) -> TimeAmount {
    .nanoseconds(
      duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
  }

  // MARK: - Keys

  static func bytes(_ key: String) -> Data { Data(key.utf8) }

  /// The end of the range of keys that start with `prefix` (etcd's `range_end`).
  static func rangeEnd(ofPrefix prefix: String) -> Data {
    var bytes = Array(prefix.utf8)
    while let last = bytes.last {
      if last < 0xff {
        bytes[bytes.count - 1] = last + 1
        return Data(bytes)
      }
      bytes.removeLast()
    }
    return Data([0])
  }

  static func validate(key: String, field: String = "key") throws {
    if key.isEmpty { throw KazeError.invalid(field, "a key must not be empty") }
  }

  static func keyValue(_ kv: EtcdWire.KV) -> KeyValue {
    KeyValue(
      key: String(decoding: kv.key, as: UTF8.self), value: kv.value ?? Data(),
      createRevision: kv.create_revision?.value ?? 0, modRevision: kv.mod_revision?.value ?? 0,
      version: kv.version?.value ?? 0,
      lease: kv.lease.flatMap { $0.value == 0 ? nil : LeaseID(rawValue: $0.value) })
  }
}
