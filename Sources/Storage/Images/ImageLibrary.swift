import Foundation
import KazeModel

/// Puts image files into a pool: kernel+initrd pairs, disk images (converted to qcow2) and
/// templates made from a VM's disk. The store records the resulting `Image`; this only moves files.
public struct ImageLibrary: Sendable {
  public var pool: DirectoryPool

  public init(pool: DirectoryPool) {
    self.pool = pool
  }

  public func directory(for image: String) -> String { "\(pool.imagesDirectory)/\(image)" }

  /// Copies a kernel (and initrd) from paths on this machine into the library.
  public func importKernel(
    name: String, kernel: String, initrd: String?, cmdline: String?
  ) throws
    -> Image
  {
    try requireFile(kernel, field: "kernel")
    if let initrd { try requireFile(initrd, field: "initrd") }
    let dir = try makeDirectory(name)
    do {
      let kernelPath = "\(dir)/vmlinuz"
      try FileManager.default.copyItem(atPath: kernel, toPath: kernelPath)
      var initrdPath: String?
      if let initrd {
        initrdPath = "\(dir)/initrd.img"
        try FileManager.default.copyItem(atPath: initrd, toPath: initrdPath!)
      }
      return Image(
        name: name, kind: .kernel, pool: pool.name, kernelPath: kernelPath, initrdPath: initrdPath,
        cmdline: cmdline)
    } catch {
      try? FileManager.default.removeItem(atPath: dir)
      throw KazeError.wrap(error, "cannot import image \(name)")
    }
  }

  /// Converts a disk image (raw, qcow2, …) into the library's qcow2 base disk.
  public func importDisk(name: String, disk: String) throws -> Image {
    try requireFile(disk, field: "disk")
    let dir = try makeDirectory(name)
    do {
      let path = "\(dir)/base.qcow2"
      try QemuImg.convertToQcow2(from: disk, to: path)
      try makeReadOnly(path)
      let size = try QemuImg.info(path: path).virtualSize
      return Image(name: name, kind: .disk, pool: pool.name, diskPath: path, diskSizeBytes: size)
    } catch {
      try? FileManager.default.removeItem(atPath: dir)
      throw KazeError.wrap(error, "cannot import disk image \(name)")
    }
  }

  /// Makes a template from a stopped VM's first disk (flattened), keeping its kernel if it has one.
  public func makeTemplate(name: String, vm: VM, diskPath: String) throws -> Image {
    let dir = try makeDirectory(name)
    do {
      let path = "\(dir)/base.qcow2"
      try QemuImg.flatten(from: diskPath, to: path)
      try makeReadOnly(path)
      let size = try QemuImg.info(path: path).virtualSize
      var image = Image(
        name: name, kind: .template, pool: pool.name, diskPath: path, diskSizeBytes: size,
        sourceVM: vm.name)
      if case .kernel(let boot) = vm.spec.boot {
        image.kernelPath = "\(dir)/vmlinuz"
        try FileManager.default.copyItem(atPath: boot.kernelPath, toPath: image.kernelPath!)
        if let initrd = boot.initrdPath {
          image.initrdPath = "\(dir)/initrd.img"
          try FileManager.default.copyItem(atPath: initrd, toPath: image.initrdPath!)
        }
        image.cmdline = boot.cmdline
      }
      return image
    } catch {
      try? FileManager.default.removeItem(atPath: dir)
      throw KazeError.wrap(error, "cannot make template \(name) from \(vm.name)")
    }
  }

  public func delete(name: String) throws {
    let dir = directory(for: name)
    if FileManager.default.fileExists(atPath: dir) {
      try FileManager.default.removeItem(atPath: dir)
    }
  }

  private func makeDirectory(_ name: String) throws -> String {
    let dir = directory(for: name)
    if FileManager.default.fileExists(atPath: dir) {
      throw KazeError(
        .alreadyExists, "image '\(name)' already exists in pool \(pool.name)", field: "name")
    }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  private func requireFile(_ path: String, field: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      !isDirectory.boolValue
    else {
      throw KazeError.invalid(field, "no file at \(path) on the server")
    }
  }

  private func makeReadOnly(_ path: String) throws {
    try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
  }
}
