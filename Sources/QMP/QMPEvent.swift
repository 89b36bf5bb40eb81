import Foundation

/// An asynchronous event emitted by QEMU, such as `STOP` or `SHUTDOWN`.
///
/// Every event QEMU sends comes through, known to this module or not; ``Name`` lists the
/// names Kaze cares about.
public struct QMPEvent: Sendable, Equatable {
  /// The event name, e.g. `"SHUTDOWN"`.
  public var name: String
  /// The event's `data` member, if it has one.
  public var data: JSONValue?
  /// When QEMU emitted the event (from its `timestamp` member; the receive time if absent).
  public var timestamp: Date

  public init(name: String, data: JSONValue? = nil, timestamp: Date = Date()) {
    self.name = name
    self.data = data
    self.timestamp = timestamp
  }

  /// Names of commonly handled events.
  public enum Name {
    public static let shutdown = "SHUTDOWN"
    public static let powerdown = "POWERDOWN"
    public static let reset = "RESET"
    public static let stop = "STOP"
    public static let resume = "RESUME"
    public static let suspend = "SUSPEND"
    public static let wakeup = "WAKEUP"
    public static let guestPanicked = "GUEST_PANICKED"
    public static let migration = "MIGRATION"
    public static let migrationPass = "MIGRATION_PASS"
    public static let blockJobReady = "BLOCK_JOB_READY"
    public static let blockJobCompleted = "BLOCK_JOB_COMPLETED"
    public static let blockJobError = "BLOCK_JOB_ERROR"
    public static let jobStatusChange = "JOB_STATUS_CHANGE"
    public static let deviceDeleted = "DEVICE_DELETED"
  }
}

extension QMPEvent {
  /// Builds an event from a message that has an `event` member.
  init?(message: JSONValue) {
    guard let name = message["event"]?.stringValue else { return nil }
    self.name = name
    self.data = message["data"]
    if let stamp = message["timestamp"], let seconds = stamp["seconds"]?.doubleValue {
      let microseconds = stamp["microseconds"]?.doubleValue ?? 0
      self.timestamp = Date(timeIntervalSince1970: seconds + microseconds / 1_000_000)
    } else {
      self.timestamp = Date()
    }
  }
}
