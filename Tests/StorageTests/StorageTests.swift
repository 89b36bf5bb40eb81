import Foundation
import KazeModel
import Storage
import Testing

@Suite("Directory pool and images (real qemu-img)")
struct StorageTests {
  let root: String

  init() throws {
    root = NSTemporaryDirectory() + "kaze-storage-\(UUID().uuidString.prefix(8))"
    try DirectoryPool(root: root).prepare()
  }

  func cleanup() { try? FileManager.default.removeItem(atPath: root) }

  @Test("a disk is created, grown and never shrunk")
  func diskLifecycle() throws {
    defer { cleanup() }
    let pool = DirectoryPool(root: root)
    var spec = DiskSpec(name: "disk0", sizeBytes: 64 << 20)
    let path = try pool.ensureDisk(vm: "vm1", spec: spec)
    #expect(try QemuImg.info(path: path).virtualSize == 64 << 20)
    spec.sizeBytes = 128 << 20
    _ = try pool.ensureDisk(vm: "vm1", spec: spec)
    #expect(try QemuImg.info(path: path).virtualSize == 128 << 20)
    #expect(throws: KazeError.self) { try QemuImg.grow(path: path, to: 32 << 20) }
    #expect(try QemuImg.info(path: path).virtualSize == 128 << 20)
    try pool.deleteDisks(vm: "vm1")
    #expect(!FileManager.default.fileExists(atPath: path))
  }

  @Test("a linked clone reads its base and writes only to itself")
  func linkedClone() throws {
    defer { cleanup() }
    let pool = DirectoryPool(root: root)
    let raw = root + "/source.raw"
    var content = Data("template-content".utf8)
    content.append(Data(count: (1 << 20) - content.count))
    try content.write(to: URL(fileURLWithPath: raw))
    let image = try ImageLibrary(pool: pool).importDisk(name: "base", disk: raw)
    let base = try #require(image.diskPath)
    let clone = try pool.ensureDisk(
      vm: "vm2", spec: DiskSpec(name: "disk0", sizeBytes: 8 << 20, backingPath: base))
    let info = try QemuImg.info(path: clone)
    #expect(info.backingFilename == base)
    #expect(info.virtualSize == 8 << 20)
    let out = root + "/out.raw"
    try ProcessRunner.run("qemu-img", ["convert", "-O", "raw", clone, out])
    let data = try Data(contentsOf: URL(fileURLWithPath: out)).prefix(16)
    #expect(String(decoding: data, as: UTF8.self) == "template-content")
    #expect(throws: KazeError.self) {
      try ImageLibrary(pool: pool).importDisk(name: "base", disk: raw)
    }
  }

  @Test("snapshots are taken, listed, reverted and deleted")
  func snapshots() throws {
    defer { cleanup() }
    let pool = DirectoryPool(root: root)
    let path = try pool.ensureDisk(vm: "vm3", spec: DiskSpec(name: "disk0", sizeBytes: 16 << 20))
    try ProcessRunner.run("qemu-io", ["-c", "write -P 0x41 0 4k", path])
    try QemuImg.createSnapshot(path: path, name: "before")
    try ProcessRunner.run("qemu-io", ["-c", "write -P 0x42 0 4k", path])
    #expect(try QemuImg.snapshots(path: path) == ["before"])
    try QemuImg.revertSnapshot(path: path, name: "before")
    let check = try ProcessRunner.run("qemu-io", ["-c", "read -P 0x41 0 4k", path])
    #expect(!check.stdout.contains("Pattern verification failed"))
    try QemuImg.deleteSnapshot(path: path, name: "before")
    #expect(try QemuImg.snapshots(path: path).isEmpty)
  }

  @Test("importing a kernel that is not there names the field")
  func missingKernel() {
    defer { cleanup() }
    do {
      _ = try ImageLibrary(pool: DirectoryPool(root: root)).importKernel(
        name: "k", kernel: "/nonexistent/vmlinuz", initrd: nil, cmdline: nil)
      Issue.record("imported a missing kernel")
    } catch let error as KazeError {
      #expect(error.field == "kernel")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }
}
