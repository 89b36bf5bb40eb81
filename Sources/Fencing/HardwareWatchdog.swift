#if canImport(Glibc)
  import Glibc
#endif

/// A Linux watchdog device (`/dev/watchdog`, e.g. the `softdog` module): once opened, the kernel
/// resets the host unless the device is written to ("petted") within its timeout. Closing it
/// after writing the magic character 'V' disarms it (unless the driver was loaded with
/// `nowayout=1`).
public final class HardwareWatchdog {
  public let path: String
  public let timeoutSeconds: Int32
  private var fd: Int32

  /// Opens and arms the device with the given timeout.
  public init(path: String, timeoutSeconds: Int32) throws(FenceError) {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FenceError.system("cannot open the watchdog device \(path)", errno) }
    var timeout = timeoutSeconds
    // WDIOC_SETTIMEOUT = _IOWR('W', 6, int)
    guard ioctl(fd, 0xC004_5706, &timeout) == 0 else {
      let code = errno
      // The device is armed from the moment it is opened: disarm before giving up.
      _ = write(fd, "V", 1)
      close(fd)
      throw FenceError.system("\(path) is not a watchdog device that accepts a timeout", code)
    }
    self.path = path
    self.timeoutSeconds = timeout
    self.fd = fd
  }

  public func pet() {
    guard fd >= 0 else { return }
    _ = write(fd, "\0", 1)
  }

  /// Disarms the device (magic close) — only when the guard stops on purpose.
  public func disarm() {
    guard fd >= 0 else { return }
    _ = write(fd, "V", 1)
    close(fd)
    fd = -1
  }
}
