import Foundation

/// Body of `POST /api/v1/images`: import files that are on the server into the image library.
public struct ImportImageRequest: Codable, Sendable, Equatable {
  public var name: String
  public var kernel: String?
  public var initrd: String?
  public var cmdline: String?
  public var disk: String?

  enum CodingKeys: String, CodingKey, CaseIterable { case name, kernel, initrd, cmdline, disk }

  public init(
    name: String, kernel: String? = nil, initrd: String? = nil, cmdline: String? = nil,
    disk: String? = nil
  ) {
    self.name = name
    self.kernel = kernel
    self.initrd = initrd
    self.cmdline = cmdline
    self.disk = disk
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    kernel = try c.decodeIfPresent(String.self, forKey: .kernel)
    initrd = try c.decodeIfPresent(String.self, forKey: .initrd)
    cmdline = try c.decodeIfPresent(String.self, forKey: .cmdline)
    disk = try c.decodeIfPresent(String.self, forKey: .disk)
  }

  public func validate() throws {
    try Validators.name(name)
    switch (kernel, disk) {
    case (nil, nil): throw KazeError.invalid("kernel", "give either kernel (+ initrd) or disk")
    case (.some, .some):
      throw KazeError.invalid("disk", "give either kernel (+ initrd) or disk, not both")
    default: break
    }
    if initrd != nil && kernel == nil {
      throw KazeError.invalid("initrd", "an initrd needs a kernel")
    }
    for (field, path) in [("kernel", kernel), ("initrd", initrd), ("disk", disk)] {
      if let path, !path.hasPrefix("/") {
        throw KazeError.invalid(field, "'\(path)' must be an absolute path on the server")
      }
    }
  }
}

/// Body of `POST /api/v1/templates`: make a template from a stopped VM's disks.
public struct CreateTemplateRequest: Codable, Sendable, Equatable {
  public var name: String
  public var vm: String

  enum CodingKeys: String, CodingKey, CaseIterable { case name, vm }

  public init(name: String, vm: String) {
    self.name = name
    self.vm = vm
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    vm = try c.decode(String.self, forKey: .vm)
  }

  public func validate() throws {
    try Validators.name(name)
    try Validators.name(vm, field: "vm")
  }
}

/// Body of `POST /api/v1/vms/{name}/snapshots`.
public struct CreateSnapshotRequest: Codable, Sendable, Equatable {
  public var name: String
  public var description: String?

  enum CodingKeys: String, CodingKey, CaseIterable { case name, description }

  public init(name: String, description: String? = nil) {
    self.name = name
    self.description = description
  }

  public init(from decoder: any Decoder) throws {
    try decoder.rejectUnknownKeys(CodingKeys.self)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    description = try c.decodeIfPresent(String.self, forKey: .description)
  }

  public func validate() throws {
    try Validators.name(name)
    if let description, description.count > 500 {
      throw KazeError.invalid("description", "at most 500 characters")
    }
  }
}

/// Answer of `GET /api/v1/vms/{name}/console`.
public struct ConsoleOutput: Codable, Sendable, Equatable {
  public var lines: [String]
  /// Byte offset to pass as `offset` to read what comes next.
  public var nextOffset: Int64

  public init(lines: [String], nextOffset: Int64) {
    self.lines = lines
    self.nextOffset = nextOffset
  }
}

/// The JSON body of every error answer.
public struct ErrorBody: Codable, Sendable, Equatable {
  public var code: String
  public var message: String
  public var field: String?
  /// A stable key for what went wrong and the values it names (see `KazeError.reason`).
  public var reason: String?
  public var values: [String: String]?

  public init(
    code: String, message: String, field: String? = nil, reason: String? = nil,
    values: [String: String]? = nil
  ) {
    self.code = code
    self.message = message
    self.field = field
    self.reason = reason
    self.values = values
  }
}

/// Disk as the API shows it.
public struct DiskView: Codable, Sendable, Equatable {
  public var name: String
  public var pool: String
  public var sizeBytes: Int64
  public var backing: String?

  public init(name: String, pool: String, sizeBytes: Int64, backing: String?) {
    self.name = name
    self.pool = pool
    self.sizeBytes = sizeBytes
    self.backing = backing
  }
}
