#if canImport(Glibc)
  import Glibc
#endif

/// The instants, on the boot clock, that bound this node's store lease as last renewed: after
/// `fenceAt` the node's HA VMs must be stopped; at `expiresAt` the store may give them to
/// another node.
public struct LeaseWindow: Equatable, Sendable {
  public var fenceAt: UInt64
  public var expiresAt: UInt64

  public init(fenceAt: UInt64, expiresAt: UInt64) {
    self.fenceAt = fenceAt
    self.expiresAt = expiresAt
  }
}

/// The folder (`<data>/run/fence`) through which kazed and its fence guard talk: kazed writes
/// the lease window after every renewal and the ids of the node's HA VMs; the guard holds an
/// exclusive lock on `guard.lock` while it runs and writes its pid to `guard.pid`.
public struct FenceDirectory: Sendable {
  public let path: String

  public init(path: String) { self.path = path }

  /// The node's run folder (`<data>/run`), which holds one folder per VM.
  public var runDirectory: String {
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
    return String(path[..<slash])
  }

  /// This node's QEMUs of these VMs.
  public func guests(of ids: Set<String>) -> [(pid: pid_t, vm: String)] {
    GuestProcesses.find(ids, runDirectory: runDirectory)
  }

  public var leasePath: String { path + "/lease" }
  public var haVMsPath: String { path + "/ha-vms" }
  public var lockPath: String { path + "/guard.lock" }
  public var pidPath: String { path + "/guard.pid" }

  public func create() throws(FenceError) {
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw FenceError.system("cannot create \(path)", errno)
    }
  }

  public func publish(_ window: LeaseWindow) throws(FenceError) {
    try SmallFiles.replace(leasePath, with: "\(window.fenceAt) \(window.expiresAt)\n")
  }

  public func lease() -> LeaseWindow? {
    guard let text = SmallFiles.read(leasePath) else { return nil }
    let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap {
      UInt64($0)
    }
    guard fields.count == 2 else { return nil }
    return LeaseWindow(fenceAt: fields[0], expiresAt: fields[1])
  }

  /// Forgets the lease window (a window from an earlier run must not fence, or protect, anything).
  public func clearLease() { unlink(leasePath) }

  public func publishHAVMs(_ ids: Set<String>) throws(FenceError) {
    try SmallFiles.replace(haVMsPath, with: ids.sorted().map { $0 + "\n" }.joined())
  }

  /// The lower-case ids of the VMs whose QEMUs are killed when this node fences.
  public func haVMs() -> Set<String> {
    Set((SmallFiles.read(haVMsPath) ?? "").split(separator: "\n").map(String.init))
  }

  /// True while a guard holds the lock (a dead guard's lock is released by the kernel).
  public func guardIsRunning() -> Bool {
    let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if flock(fd, LOCK_EX | LOCK_NB) == 0 {
      flock(fd, LOCK_UN)
      return false
    }
    return errno == EWOULDBLOCK
  }

  /// Takes the guard lock for the life of this process; nil if another guard holds it.
  public func lockForGuard() throws(FenceError) -> Int32? {
    let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FenceError.system("cannot open \(lockPath)", errno) }
    if flock(fd, LOCK_EX | LOCK_NB) == 0 {
      try SmallFiles.replace(pidPath, with: "\(getpid())\n")
      return fd
    }
    let code = errno
    close(fd)
    if code == EWOULDBLOCK { return nil }
    throw FenceError.system("cannot lock \(lockPath)", code)
  }

  /// The running guard's pid, if one holds the lock.
  public func guardPid() -> pid_t? {
    guard guardIsRunning(), let text = SmallFiles.read(pidPath) else { return nil }
    return pid_t(text.split(separator: "\n").first ?? "")
  }
}
