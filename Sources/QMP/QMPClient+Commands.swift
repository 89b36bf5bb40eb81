/// The answer to `query-status`.
public struct QMPStatusInfo: Sendable, Hashable, Codable {
  /// Whether the guest's CPUs are running.
  public var running: Bool
  /// The run state, e.g. `"running"`, `"paused"`, `"prelaunch"`, `"shutdown"`,
  /// `"inmigrate"`, `"postmigrate"`, `"guest-panicked"`.
  public var status: String

  public init(running: Bool, status: String) {
    self.running = running
    self.status = status
  }
}

extension QMPClient {
  /// `query-status`: whether the VM is running and its run state.
  public func queryStatus(timeout: Duration = .seconds(10)) async throws -> QMPStatusInfo {
    try await execute("query-status", as: QMPStatusInfo.self, timeout: timeout)
  }

  /// `stop`: pauses the guest's CPUs. QEMU emits `STOP`.
  public func stop(timeout: Duration = .seconds(10)) async throws {
    _ = try await execute("stop", timeout: timeout)
  }

  /// `cont`: resumes the guest's CPUs. QEMU emits `RESUME`.
  public func cont(timeout: Duration = .seconds(10)) async throws {
    _ = try await execute("cont", timeout: timeout)
  }

  /// `system_powerdown`: asks the guest to power off (ACPI power button). QEMU emits
  /// `POWERDOWN`; the guest may ignore the request.
  public func systemPowerdown(timeout: Duration = .seconds(10)) async throws {
    _ = try await execute("system_powerdown", timeout: timeout)
  }

  /// `system_reset`: resets the machine. QEMU emits `RESET`.
  public func systemReset(timeout: Duration = .seconds(10)) async throws {
    _ = try await execute("system_reset", timeout: timeout)
  }

  /// `quit`: makes QEMU exit. QEMU emits `SHUTDOWN` and closes the connection.
  ///
  /// Losing the connection before the reply is read counts as success, since QEMU may exit
  /// before its reply reaches the client.
  public func quit(timeout: Duration = .seconds(10)) async throws {
    guard isConnected else { throw QMPError.disconnected }
    do {
      _ = try await execute("quit", timeout: timeout)
    } catch QMPError.disconnected {
      return
    }
  }
}
