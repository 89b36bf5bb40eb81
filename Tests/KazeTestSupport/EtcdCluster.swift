import Foundation
import KazeModel

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif
#if canImport(Glibc)
  import Glibc
#endif

/// A real etcd cluster for tests (Debian's `etcd-server`): 1, 3 or 5 members on loopback, each
/// with its own temporary data folder. Members can be killed and restarted; everything is
/// cleaned up by PID and folder. etcd being missing is a test failure, not a skip.
public final class EtcdCluster: @unchecked Sendable {
  public struct Member: Sendable {
    public var name: String
    public var clientPort: Int
    public var peerPort: Int
    public var dataDir: String
    public var clientURL: String { "http://127.0.0.1:\(clientPort)" }
    public var peerURL: String { "http://127.0.0.1:\(peerPort)" }
  }

  public let members: [Member]
  public let root: String
  private let lock = NSLock()
  private var pids: [String: pid_t] = [:]

  public var endpoints: [String] { members.map(\.clientURL) }
  /// `etcd://127.0.0.1:P1,127.0.0.1:P2,…` as kazed's `--store` takes it.
  public var storeURL: String {
    "etcd://" + members.map { "127.0.0.1:\($0.clientPort)" }.joined(separator: ",")
  }

  /// Describes the members; `start()` launches them.
  public init(members count: Int) throws {
    root = NSTemporaryDirectory() + "kaze-etcd-\(UUID().uuidString.prefix(8).lowercased())"
    var members: [Member] = []
    for index in 1...count {
      members.append(
        Member(
          name: "etcd-\(index)", clientPort: try FreePort.next(), peerPort: try FreePort.next(),
          dataDir: "\(root)/etcd-\(index)"))
    }
    self.members = members
  }

  /// Launches every member (without waiting: call `waitUntilHealthy`).
  public func start() throws {
    for member in members { try start(member, initial: true) }
  }

  private func start(_ member: Member, initial: Bool) throws {
    try FileManager.default.createDirectory(
      atPath: member.dataDir, withIntermediateDirectories: true)
    // The members start the way the README tells an admin to start them.
    let cluster = members.map { "\($0.name)=127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
    let pid = try ProcessRunner.spawn(
      "/bin/bash",
      [
        BuiltExecutable.repository + "/scripts/etcd-member.sh", "--name", member.name,
        "--ip", "127.0.0.1", "--cluster", cluster, "--data-dir", member.dataDir,
        "--client-port", "\(member.clientPort)", "--peer-port", "\(member.peerPort)",
      ] + (initial ? [] : ["--join"]), stdout: "\(member.dataDir).out",
      stderr: "\(member.dataDir).log")
    lock.withLock { pids[member.name] = pid }
  }

  /// Waits until every running member answers and the cluster has a leader.
  public func waitUntilHealthy(timeout: Duration = .seconds(60)) async throws {
    for member in members where isRunning(member.name) {
      try await eventually("etcd member \(member.name) to answer", timeout: timeout) {
        if let pid = lock.withLock({ pids[member.name] }),
          ProcessRunner.wait(pid: pid, timeout: .zero) != nil
        {
          _ = lock.withLock { pids.removeValue(forKey: member.name) }
          let log = (try? String(contentsOfFile: "\(member.dataDir).log", encoding: .utf8)) ?? ""
          throw KazeError(
            .unavailable, "etcd member \(member.name) exited",
            cause: log.split(separator: "\n").suffix(5).joined(separator: " | "))
        }
        return try await Self.hasLeader(member.clientURL) ? true : nil
      }
    }
  }

  static func hasLeader(_ endpoint: String) async throws -> Bool {
    guard let url = URL(string: endpoint + "/v3/maintenance/status") else { return false }
    var request = URLRequest(url: url, timeoutInterval: 2)
    request.httpMethod = "POST"
    request.httpBody = Data("{}".utf8)
    guard let (data, _) = try? await URLSession.shared.data(for: request),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return false }
    return (object["leader"] as? String).map { $0 != "0" } ?? false
  }

  public func isRunning(_ name: String) -> Bool { lock.withLock { pids[name] != nil } }

  /// `kill -9` of one member.
  public func kill(_ name: String) {
    guard let pid = lock.withLock({ pids.removeValue(forKey: name) }) else { return }
    _ = Glibc.kill(pid, SIGKILL)
    _ = ProcessRunner.waitBlocking(pid: pid)
  }

  /// Stops a member without closing anything (SIGSTOP): its connections stay open and silent,
  /// as those of a server that lost power look to the others until TCP gives up.
  public func freeze(_ name: String) {
    guard let pid = lock.withLock({ pids[name] }) else { return }
    _ = Glibc.kill(pid, SIGSTOP)
  }

  /// Lets a frozen member run again (SIGCONT).
  public func thaw(_ name: String) {
    guard let pid = lock.withLock({ pids[name] }) else { return }
    _ = Glibc.kill(pid, SIGCONT)
  }

  /// Starts a killed member again on its data folder.
  public func restart(_ name: String) throws {
    guard let member = members.first(where: { $0.name == name }) else { return }
    try start(member, initial: false)
  }

  /// The member etcd reports as leader, by name.
  public func leaderName() async -> String? {
    for member in members where isRunning(member.name) {
      guard let url = URL(string: member.clientURL + "/v3/maintenance/status") else { continue }
      var request = URLRequest(url: url, timeoutInterval: 2)
      request.httpMethod = "POST"
      request.httpBody = Data("{}".utf8)
      guard let (data, _) = try? await URLSession.shared.data(for: request),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let leader = object["leader"] as? String,
        let header = object["header"] as? [String: Any],
        let me = header["member_id"] as? String
      else { continue }
      if leader == me { return member.name }
    }
    return nil
  }

  /// Kills every member and removes the data.
  public func destroy() {
    for member in members { kill(member.name) }
    try? FileManager.default.removeItem(atPath: root)
  }
}
