import Foundation
import QMP

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A scripted QMP server on a Unix socket: it accepts one connection, runs the script on a
/// background thread, then closes the connection.
final class FakeQMPServer: Sendable {
  let socketPath: String
  private let directory: String
  private let listenFD: Int32

  /// Listens on `directory`/qmp.sock (in a new temporary directory by default) and serves
  /// the first client that connects with `script`. ``stop()`` removes the directory.
  init(
    directory: String? = nil, script: @escaping @Sendable (FakeQMPConnection) -> Void
  ) throws {
    self.directory = try directory ?? makeTemporaryDirectory()
    socketPath = self.directory + "/qmp.sock"
    #if os(Linux)
      let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    #else
      let fd = socket(AF_UNIX, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw TestSupportError("socket failed: errno \(errno)") }
    listenFD = fd

    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(socketPath.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      raw.copyBytes(from: pathBytes.prefix(raw.count - 1))
    }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard bound == 0, listen(fd, 8) == 0 else {
      let error = errno
      close(fd)
      try? FileManager.default.removeItem(atPath: self.directory)
      throw TestSupportError("bind/listen failed: errno \(error)")
    }

    let thread = Thread {
      let client = accept(fd, nil, nil)
      guard client >= 0 else { return }
      let connection = FakeQMPConnection(fd: client)
      script(connection)
      connection.close()
    }
    thread.start()
  }

  /// Stops listening and removes the socket's directory.
  func stop() {
    shutdown(listenFD, Int32(SHUT_RDWR))
    close(listenFD)
    try? FileManager.default.removeItem(atPath: directory)
  }
}

/// The server side of one fake QMP connection. Used only on the server's thread.
final class FakeQMPConnection {
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var closed = false

  init(fd: Int32) {
    self.fd = fd
  }

  /// Sends `text` followed by `\r\n`.
  func send(_ text: String) {
    sendRaw(text + "\r\n")
  }

  /// Sends exactly `text`.
  func sendRaw(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      #if os(Linux)
        let flags = Int32(MSG_NOSIGNAL)
      #else
        let flags: Int32 = 0
      #endif
      let written = bytes[offset...].withUnsafeBytes {
        socketSend(fd, $0.baseAddress, $0.count, flags)
      }
      guard written > 0 else { return }
      offset += written
    }
  }

  func send(_ message: JSONValue) {
    send(message.description)
  }

  func sendGreeting(major: Int64 = 7, minor: Int64 = 2, micro: Int64 = 0) {
    send([
      "QMP": [
        "version": [
          "qemu": ["major": .int(major), "minor": .int(minor), "micro": .int(micro)],
          "package": "fake",
        ],
        "capabilities": ["oob"],
      ]
    ])
  }

  /// Sends the greeting and answers `qmp_capabilities`.
  @discardableResult
  func handshake() -> Bool {
    sendGreeting()
    guard let command = readCommand(), command["execute"] == "qmp_capabilities" else {
      return false
    }
    reply(to: command)
    return true
  }

  /// Reads one line, without its line ending; `nil` once the client has closed.
  func readLine() -> String? {
    while true {
      if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = buffer[..<newline]
        buffer.removeSubrange(...newline)
        return String(decoding: line, as: UTF8.self)
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }
      var chunk = [UInt8](repeating: 0, count: 4096)
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      guard count > 0 else { return nil }
      buffer.append(contentsOf: chunk[..<count])
    }
  }

  /// Reads one command; `nil` once the client has closed.
  func readCommand() -> JSONValue? {
    guard let line = readLine() else { return nil }
    return try? JSONValue(parsing: Data(line.utf8))
  }

  func reply(to command: JSONValue, with result: JSONValue = [:]) {
    var message: [String: JSONValue] = ["return": result]
    message["id"] = command["id"]
    send(.object(message))
  }

  func replyError(to command: JSONValue, class errorClass: String, description: String) {
    var message: [String: JSONValue] = [
      "error": ["class": .string(errorClass), "desc": .string(description)]
    ]
    message["id"] = command["id"]
    send(.object(message))
  }

  /// Blocks until the client closes the connection.
  func waitForClientToClose() {
    while readLine() != nil {}
  }

  func close() {
    guard !closed else { return }
    closed = true
    socketClose(fd)
  }
}

// The C functions, out of reach of the methods of the same names.
private func socketSend(
  _ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32
) -> Int {
  send(fd, bytes, count, flags)
}

private func socketClose(_ fd: Int32) {
  _ = close(fd)
}
