import Foundation
import Storage
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("TCP probe of an export address")
struct TCPProbeTests {
  @Test("a listening port answers, a free one does not; names resolve")
  func probe() throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #expect(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    #expect(bound == 0)
    #expect(listen(fd, 4) == 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    let port = Int(UInt16(bigEndian: address.sin_port))
    #expect(TCPProbe.accepts(host: "127.0.0.1", port: port))
    #expect(TCPProbe.accepts(host: "localhost", port: port))
    let free = try #require(TCPProbe.freePort(host: "127.0.0.1"))
    #expect(!TCPProbe.accepts(host: "127.0.0.1", port: free))
    #expect(!TCPProbe.accepts(host: "no-such-host.invalid", port: port))
  }
}
