import Foundation
import KazeModel

/// Decides between KVM and TCG by booting a real kernel under KVM: `/dev/kvm` existing is not
/// enough (nested KVM on these machines aborts or is pathologically slow). The probe boots the
/// kernel with no root file system and waits for it to reach its panic message.
public enum AcceleratorProbe {
  public struct Result: Sendable, Equatable {
    public var accelerator: Accelerator
    public var reason: String
  }

  public static func choose(
    requested: String, probeKernel: String?, timeout: Duration = .seconds(10)
  ) -> Result {
    switch requested {
    case "tcg": return Result(accelerator: .tcg, reason: "TCG chosen by configuration")
    case "kvm": return Result(accelerator: .kvm, reason: "KVM chosen by configuration")
    default: break
    }
    guard FileManager.default.isWritableFile(atPath: "/dev/kvm") else {
      return Result(accelerator: .tcg, reason: "/dev/kvm is not available")
    }
    let kernels = [probeKernel].compactMap { $0 } + hostKernels()
    guard let kernel = kernels.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
      return Result(accelerator: .tcg, reason: "no kernel to probe KVM with; using TCG")
    }
    return probe(kernel: kernel, timeout: timeout)
  }

  static func hostKernels() -> [String] {
    var release = utsname()
    uname(&release)
    let version = withUnsafeBytes(of: &release.release) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
    return ["/boot/vmlinuz-\(version)", "/vmlinuz"]
  }

  static func probe(kernel: String, timeout: Duration) -> Result {
    let arguments = [
      "-accel", "kvm", "-cpu", "host", "-m", "128", "-nodefaults", "-no-user-config",
      "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", kernel,
      "-append", "console=ttyS0 panic=-1 loglevel=4",
    ]
    let output: ProcessRunner.Output
    do {
      output = try ProcessRunner.run(
        QEMUCommandLine.binary, arguments, check: false, timeout: timeout)
    } catch let error as KazeError where error.code == .timeout {
      return Result(
        accelerator: .tcg,
        reason: "KVM probe did not boot a kernel within \(timeout) (nested KVM?); using TCG")
    } catch {
      return Result(accelerator: .tcg, reason: "cannot run QEMU for the KVM probe: \(error)")
    }
    let text = output.stdout + output.stderr
    if text.contains("Kernel panic") || text.contains("VFS:") {
      return Result(accelerator: .kvm, reason: "KVM probe booted a kernel")
    }
    let last = text.split(separator: "\n").last.map(String.init) ?? "no output"
    return Result(accelerator: .tcg, reason: "KVM probe failed (\(last)); using TCG")
  }
}

/// The CPU models the installed QEMU can emulate (`-cpu help`).
public enum CPUModels {
  public static func available() -> [String] {
    guard let output = try? ProcessRunner.run(QEMUCommandLine.binary, ["-cpu", "help"]) else {
      return []
    }
    return output.stdout.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      return fields.count >= 2 && fields[0] == "x86" ? String(fields[1]) : nil
    }
  }
}
