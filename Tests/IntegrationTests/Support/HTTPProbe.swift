import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One plain HTTP/1.0 GET over a new socket, with a deadline: whether a kazed answers at all,
/// independently of any client's connection pool (a diagnosis when a test stops hearing from it).
enum HTTPProbe {
  /// The status line of the answer, or why there was none.
  static func statusLine(server: String, path: String, timeoutSeconds: Int = 3) -> String {
    let parts = server.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1]) else { return "bad address \(server)" }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return "no socket: \(String(cString: strerror(errno)))" }
    defer { close(fd) }
    var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(String(parts[0]))
    address.sin_port = port.bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    guard connected else { return "cannot connect: \(String(cString: strerror(errno)))" }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: \(server)\r\n\r\n".utf8)
    guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
      return "cannot send: \(String(cString: strerror(errno)))"
    }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = recv(fd, &buffer, buffer.count, 0)
    if count < 0 { return "no answer within \(timeoutSeconds) s" }
    if count == 0 { return "closed without an answer" }
    let text = String(decoding: buffer[0..<count], as: UTF8.self)
    return text.split(separator: "\r\n").first.map(String.init) ?? text
  }
}
