#if canImport(Glibc)
  import Glibc
#endif

/// Finds QEMU processes by the VM id on their command line (`-uuid ID`), from /proc: it needs no
/// pidfile and also finds a copy that is still starting. Only this node's copies count: their
/// command line names a file in `<runDirectory>/<id>/` (pidfile, QMP socket, serial log). Another
/// node's QEMU of the same VM — on the same machine, as in tests — is never touched.
public enum GuestProcesses {
  /// The pids of this node's processes for any of these VM ids (lower-case), with the id.
  public static func find(_ ids: Set<String>, runDirectory: String) -> [(pid: pid_t, vm: String)] {
    guard !ids.isEmpty, let proc = opendir("/proc") else { return [] }
    defer { closedir(proc) }
    var found: [(pid: pid_t, vm: String)] = []
    while let entry = readdir(proc) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard let pid = pid_t(name), let args = arguments(of: pid), let vm = vmID(in: args),
        ids.contains(vm), args.contains(where: { $0.contains("\(runDirectory)/\(vm)/") })
      else { continue }
      found.append((pid, vm))
    }
    return found
  }

  static func arguments(of pid: pid_t) -> [Substring]? {
    guard let cmdline = SmallFiles.read("/proc/\(pid)/cmdline") else { return nil }
    return cmdline.split(separator: "\0", omittingEmptySubsequences: false)
  }

  /// The value after `-uuid` on a command line.
  static func vmID(in args: [Substring]) -> String? {
    guard let index = args.firstIndex(of: "-uuid"), index + 1 < args.endIndex else { return nil }
    return String(args[index + 1])
  }

  /// SIGKILLs every process of these VMs on this node; returns what it signalled.
  @discardableResult
  public static func kill(_ ids: Set<String>, runDirectory: String) -> [(pid: pid_t, vm: String)] {
    let victims = find(ids, runDirectory: runDirectory)
    for victim in victims { _ = Glibc.kill(victim.pid, SIGKILL) }
    return victims
  }
}
