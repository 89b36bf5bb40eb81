import Foundation

/// The fence guard (`kaze-fence`) a kazed started for its data folder; it outlives kazed, so a
/// test or benchmark that simulates a power loss, or cleans up, kills it by this pid.
public func fenceGuardPid(dataDir: String) -> pid_t? {
  guard
    let text = try? String(contentsOfFile: "\(dataDir)/run/fence/guard.pid", encoding: .utf8),
    let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
    let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
    String(decoding: cmdline, as: UTF8.self).contains("kaze-fence")
  else { return nil }
  return pid
}
