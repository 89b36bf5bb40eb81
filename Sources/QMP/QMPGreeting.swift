/// The version of QEMU on the other end, from the QMP greeting.
public struct QMPVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var major: Int
  public var minor: Int
  public var micro: Int
  /// The distribution's package string, e.g. `"Debian 1:7.2+dfsg-7"` (often empty).
  public var package: String

  public init(major: Int, minor: Int, micro: Int, package: String = "") {
    self.major = major
    self.minor = minor
    self.micro = micro
    self.package = package
  }

  public var description: String { "\(major).\(minor).\(micro)" }

  public static func < (lhs: QMPVersion, rhs: QMPVersion) -> Bool {
    (lhs.major, lhs.minor, lhs.micro) < (rhs.major, rhs.minor, rhs.micro)
  }
}

/// The greeting QEMU sends when a client connects:
/// `{"QMP": {"version": {"qemu": {...}, "package": "..."}, "capabilities": [...]}}`.
public struct QMPGreeting: Sendable, Hashable {
  public var version: QMPVersion
  /// Capabilities the server offers (e.g. `"oob"`); this client enables none of them.
  public var capabilities: [String]

  public init(version: QMPVersion, capabilities: [String] = []) {
    self.version = version
    self.capabilities = capabilities
  }

  /// Parses a greeting message, throwing ``QMPError/handshakeFailed(_:)`` if it is not one.
  init(message: JSONValue) throws {
    guard let body = message["QMP"] else {
      throw QMPError.handshakeFailed("expected a QMP greeting, got \(message)")
    }
    guard let versionInfo = body["version"], let qemu = versionInfo["qemu"],
      let major = qemu["major"]?.intValue, let minor = qemu["minor"]?.intValue,
      let micro = qemu["micro"]?.intValue
    else {
      throw QMPError.handshakeFailed("greeting without a QEMU version: \(message)")
    }
    let capabilities = body["capabilities"]?.arrayValue?.compactMap(\.stringValue) ?? []
    self.init(
      version: QMPVersion(
        major: Int(clamping: major), minor: Int(clamping: minor), micro: Int(clamping: micro),
        package: versionInfo["package"]?.stringValue ?? ""),
      capabilities: capabilities)
  }
}
