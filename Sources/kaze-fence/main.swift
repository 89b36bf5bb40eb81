import Fencing

#if canImport(Glibc)
  import Glibc
#endif

// kaze-fence: the fence guard that kazed starts next to itself (see FenceGuard).
//   kaze-fence --dir DATA/run/fence [--watchdog-device PATH --watchdog-timeout SECONDS]

nonisolated(unsafe) var stopRequested: sig_atomic_t = 0

func printError(_ line: String) {
  let bytes = Array((line + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
  printError("kaze-fence: \(message)")
  exit(2)
}

func note(_ message: String) {
  printError("kaze-fence[\(getpid())]: \(message)")
}

var directory: String?
var watchdogDevice: String?
var watchdogTimeout: Int32 = 1
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
  switch argument {
  case "--dir": directory = arguments.popFirst()
  case "--watchdog-device": watchdogDevice = arguments.popFirst()
  case "--watchdog-timeout":
    guard let value = arguments.popFirst().flatMap({ Int32($0) }), (1...60).contains(value) else {
      fail("--watchdog-timeout: use 1 to 60 seconds")
    }
    watchdogTimeout = value
  default:
    fail(
      "unknown argument \(argument); usage: kaze-fence --dir DIR "
        + "[--watchdog-device PATH --watchdog-timeout SECONDS]")
  }
}
guard let directory else { fail("--dir DIR is required") }

let fence = FenceDirectory(path: directory)
let lock: Int32?
do {
  try fence.create()
  lock = try fence.lockForGuard()
} catch {
  fail(error.description)
}
guard lock != nil else {
  note("another guard already watches \(directory)")
  exit(0)
}
signal(SIGINT, SIG_IGN)
signal(SIGHUP, SIG_IGN)
signal(SIGPIPE, SIG_IGN)
signal(SIGTERM) { _ in stopRequested = 1 }

var watchdog: HardwareWatchdog?
if let watchdogDevice {
  do {
    watchdog = try HardwareWatchdog(path: watchdogDevice, timeoutSeconds: watchdogTimeout)
    note("armed \(watchdogDevice) with a \(watchdog?.timeoutSeconds ?? 0) s timeout")
  } catch {
    fail(error.description)
  }
}
note("guarding \(directory)")
FenceGuard(directory: fence, watchdog: watchdog, log: note).run { stopRequested != 0 }
note(stopRequested != 0 ? "stopped" : "nothing left to guard; exiting")
