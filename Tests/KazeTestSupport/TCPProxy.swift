import Foundation
import KazeModel

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP relay on a loopback address, standing for one node's network link to one server
/// (an etcd member). `cut()` drops every connection and refuses new ones — a network partition
/// for that node alone, while its processes keep running; `restore()` heals it.
public final class TCPProxy: @unchecked Sendable {
  public let host: String
  public let port: Int
  private let target: (host: String, port: Int)
  private let lock = NSLock()
  private var cutOff = false
  private var stopped = false
  private var sockets: Set<Int32> = []
  private let listener: Int32

  public init(host: String, to targetHost: String, port targetPort: Int) throws {
    self.host = host
    self.target = (targetHost, targetPort)
    port = try FreePort.next(host: host)
    listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var yes: Int32 = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = Self.address(host, port)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    guard bound, listen(listener, 64) == 0 else {
      close(listener)
      throw KazeError(.unavailable, "the test proxy cannot listen on \(host):\(port)")
    }
    Thread.detachNewThread { [self] in acceptLoop() }
  }

  public var address: String { "\(host):\(port)" }

  public func cut() {
    // Under the lock: a pump closes its sockets only after taking it.
    lock.withLock {
      cutOff = true
      for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }
  }

  public func restore() { lock.withLock { cutOff = false } }

  public func stop() {
    lock.withLock { stopped = true }
    cut()
    shutdown(listener, Int32(SHUT_RDWR))
    close(listener)
  }

  private func acceptLoop() {
    while true {
      let client = accept(listener, nil, nil)
      if client < 0 {
        if lock.withLock({ stopped }) { return }
        continue
      }
      if lock.withLock({ cutOff || stopped }) {
        close(client)
        continue
      }
      let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var address = Self.address(target.host, target.port)
      let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
      }
      guard connected else {
        close(client)
        close(upstream)
        continue
      }
      let admitted = lock.withLock { () -> Bool in
        guard !cutOff && !stopped else { return false }
        sockets.insert(client)
        sockets.insert(upstream)
        return true
      }
      guard admitted else {
        close(client)
        close(upstream)
        continue
      }
      let link = Link()
      Thread.detachNewThread { [self] in pump(from: client, to: upstream, link: link) }
      Thread.detachNewThread { [self] in pump(from: upstream, to: client, link: link) }
    }
  }

  /// One relayed connection: its two sockets are closed only when both directions have ended,
  /// so that neither pump can shut down a descriptor number the process has already reused.
  private final class Link: @unchecked Sendable {
    var ended = 0
  }

  private func pump(from source: Int32, to destination: Int32, link: Link) {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let count = read(source, &buffer, buffer.count)
      if count <= 0 { break }
      var offset = 0
      while offset < count {
        let written = buffer[offset..<count].withUnsafeBytes {
          send(destination, $0.baseAddress, count - offset, Int32(MSG_NOSIGNAL))
        }
        if written <= 0 { break }
        offset += written
      }
      if offset < count { break }
    }
    // Ends the other direction too (its read returns), then the last one out closes both.
    shutdown(source, Int32(SHUT_RDWR))
    shutdown(destination, Int32(SHUT_RDWR))
    let last = lock.withLock { () -> Bool in
      link.ended += 1
      guard link.ended == 2 else { return false }
      sockets.remove(source)
      sockets.remove(destination)
      return true
    }
    if last {
      close(source)
      close(destination)
    }
  }

  private static func address(_ host: String, _ port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host)
    address.sin_port = UInt16(port).bigEndian
    return address
  }
}
