#if canImport(Glibc)
  import Glibc
#endif

/// Reading and replacing small files with plain system calls (the fence guard does not load
/// Foundation, to stay small).
enum SmallFiles {
  static func read(_ path: String, limit: Int = 65_536) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < limit {
      let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      bytes.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Writes a temporary file next to `path` and renames it over `path`, so a reader sees the
  /// old or the new content, never a mix.
  static func replace(_ path: String, with text: String) throws(FenceError) {
    let temporary = path + ".new"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FenceError.system("cannot write \(temporary)", errno) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
      let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else {
        let code = errno
        close(fd)
        throw FenceError.system("cannot write \(temporary)", code)
      }
      written += count
    }
    close(fd)
    guard rename(temporary, path) == 0 else {
      throw FenceError.system("cannot replace \(path)", errno)
    }
  }
}

public struct FenceError: Error, CustomStringConvertible, Equatable {
  public var description: String

  public init(_ description: String) { self.description = description }

  static func system(_ what: String, _ code: Int32) -> FenceError {
    FenceError("\(what): \(String(cString: strerror(code)))")
  }
}
