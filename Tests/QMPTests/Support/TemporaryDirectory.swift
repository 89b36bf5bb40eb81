import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A fresh directory under /tmp (not `$TMPDIR`: Unix socket paths must stay under 104 bytes).
func makeTemporaryDirectory() throws -> String {
  var template = Array("/tmp/kaze-qmp-XXXXXX".utf8CString)
  let result = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
    guard let base = buffer.baseAddress else { return nil }
    return mkdtemp(base)
  }
  guard let result else {
    throw TestSupportError("mkdtemp failed: errno \(errno)")
  }
  return String(cString: result)
}

struct TestSupportError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
