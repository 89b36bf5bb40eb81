import Hypervisor
import KazeModel

/// What the primary's agent set up for one replicated disk in one QEMU: the mirror job writing
/// to the secondary's export, and the resync under way, if any.
struct MirrorLink {
  var export: NBDExport
  /// The QEMU the job runs in; a new QEMU has no job.
  var qemuPid: Int32
  /// A resync after a degraded spell: the job's offset when it was resumed (what it copies
  /// from then on is the resync) and when the resume that stuck happened.
  var resync: (fromOffset: Int64, started: ContinuousClock.Instant)?
  /// Bytes a resync from dirty bitmaps copied before the mirror started.
  var bitmapBytes: Int64 = 0
  /// When the dirty bitmaps were last rotated (or the link was made: the first rotation waits a
  /// whole period, also after kazed restarts).
  var lastRotation = ContinuousClock.now

  /// The mirror job and the NBD node are named after the export they write to (which names the
  /// VM, the disk and the epoch), so a job found after kazed restarts tells where it writes.
  static func jobID(_ export: NBDExport) -> String { "replica-\(export.name)" }
  static func nodeName(_ export: NBDExport) -> String { "replica-\(export.name)" }
  /// A bitmap resync's backup job and its own NBD node (one node cannot take two jobs' writes).
  static func resyncID(_ export: NBDExport) -> String { "resync-\(export.name)" }

  /// The replication job of `disk` among a QEMU's block jobs.
  static func job(of disk: String, in jobs: [BlockJobInfo]) -> BlockJobInfo? {
    jobs.first { $0.id.hasPrefix("replica-") && $0.id.contains("-\(disk)-e") }
  }

  /// The bitmap resync pass of `disk` under way, if any.
  static func resyncJob(of disk: String, in jobs: [BlockJobInfo]) -> BlockJobInfo? {
    jobs.first { $0.id.hasPrefix("resync-") && $0.id.contains("-\(disk)-e") }
  }
}
