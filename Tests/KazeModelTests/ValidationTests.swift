import Foundation
import KazeModel
import Testing

@Suite("Validation of user input")
struct ValidationTests {
  @Test("names are DNS labels", arguments: ["web-1", "a", "x9"])
  func validNames(_ name: String) throws {
    try Validators.name(name)
  }

  @Test(
    "bad names are refused with the field named",
    arguments: ["", "-web", "Web", "a_b", "web-", String(repeating: "a", count: 64)])
  func invalidNames(_ name: String) {
    #expect(throws: KazeError.self) { try Validators.name(name) }
    do {
      try Validators.name(name)
    } catch let error as KazeError {
      #expect(error.field == "name")
      #expect(error.code == .invalidArgument)
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("sizes parse with binary units")
  func sizes() throws {
    #expect(try Validators.size("512M") == 512 << 20)
    #expect(try Validators.size("10G") == 10 << 30)
    #expect(try Validators.size("1GiB") == 1 << 30)
    #expect(try Validators.size("2t") == 2 << 40)
    #expect(try Validators.size("1048576") == 1 << 20)
  }

  @Test(
    "bad sizes are refused",
    arguments: ["", "0", "-1G", "10X", "G", "1K", "100T", "99999999999999999999G"])
  func badSizes(_ text: String) {
    #expect(throws: KazeError.self) { try Validators.size(text) }
  }

  @Test("CPU counts must be positive", arguments: [0, -1, 257])
  func badCPUs(_ cpus: Int) {
    let request = CreateVMRequest(name: "vm", image: "img", cpus: cpus)
    #expect(throws: KazeError.self) { try request.validate() }
  }

  @Test("MAC addresses must be unicast")
  func macs() throws {
    try Validators.mac("52:54:00:12:34:56", field: "mac")
    #expect(throws: KazeError.self) { try Validators.mac("01:00:00:00:00:00", field: "mac") }
    #expect(throws: KazeError.self) { try Validators.mac("52:54:00:12:34", field: "mac") }
  }
}

@Suite("Strict JSON decoding")
struct StrictDecodingTests {
  func decode(_ json: String) throws -> CreateVMRequest {
    do {
      return try JSONDecoder().decode(CreateVMRequest.self, from: Data(json.utf8))
    } catch {
      throw KazeError.decoding(error)
    }
  }

  @Test("an unknown field is refused and named")
  func unknownField() {
    do {
      _ = try decode(#"{"name":"a","image":"b","colour":"red"}"#)
      Issue.record("decoded an unknown field")
    } catch let error as KazeError {
      #expect(error.field == "colour")
      #expect(error.message.contains("unknown field"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("a nested unknown field is named with its path")
  func nestedUnknownField() throws {
    do {
      _ = try decode(#"{"name":"a","image":"b","disks":[{"size":"1G","speed":9}]}"#)
      Issue.record("decoded an unknown field")
    } catch let error as KazeError {
      #expect(error.field?.hasSuffix("speed") == true)
    }
  }

  @Test("a wrong type names the field and what was expected")
  func wrongType() {
    do {
      _ = try decode(#"{"name":"a","image":"b","cpus":"two"}"#)
      Issue.record("decoded a string as cpus")
    } catch let error as KazeError {
      #expect(error.field == "cpus")
      #expect(error.message.contains("integer"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("a missing required field is named")
  func missingField() {
    do {
      _ = try decode(#"{"name":"a"}"#)
      Issue.record("decoded without image")
    } catch let error as KazeError {
      #expect(error.field == "image")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("malformed JSON is reported as such")
  func malformed() {
    do {
      _ = try decode(#"{"name":"a","#)
      Issue.record("decoded malformed JSON")
    } catch let error as KazeError {
      #expect(error.message.contains("malformed JSON"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("an enum value outside the allowed set lists the allowed ones")
  func badEnum() {
    do {
      _ = try decode(#"{"name":"a","image":"b","firmware":"coreboot"}"#)
      Issue.record("decoded an unknown firmware")
    } catch let error as KazeError {
      #expect(error.field == "firmware")
      #expect(error.message.contains("bios, uefi"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }
}

@Suite("VM lifecycle table")
struct VMPhaseTests {
  @Test("a running VM can pause, stop or crash but not go back to pending")
  func transitions() {
    #expect(VMPhase.running.canTransition(to: .paused))
    #expect(VMPhase.running.canTransition(to: .crashed))
    #expect(VMPhase.running.canTransition(to: .stopped))
    #expect(!VMPhase.running.canTransition(to: .pending))
    #expect(!VMPhase.stopped.canTransition(to: .paused))
  }

  @Test("actions are refused in phases where they make no sense")
  func actions() throws {
    try VMAction.start.check(phase: .stopped, desired: .stopped)
    try VMAction.pause.check(phase: .running, desired: .running)
    #expect(throws: KazeError.self) { try VMAction.pause.check(phase: .stopped, desired: .stopped) }
    #expect(throws: KazeError.self) {
      try VMAction.reboot.check(phase: .stopped, desired: .stopped)
    }
    #expect(throws: KazeError.self) {
      try VMAction.resume.check(phase: .running, desired: .running)
    }
    #expect(throws: KazeError.self) { try VMAction.start.check(phase: .running, desired: .running) }
  }
}

@Suite("Running helper programs")
struct ProcessRunnerTests {
  @Test("output and exit status are returned")
  func runs() throws {
    let output = try ProcessRunner.run(
      "sh", ["-c", "echo out; echo err >&2; exit 3"], check: false)
    #expect(output.status == 3)
    #expect(output.stdout == "out\n")
    #expect(output.stderr == "err\n")
  }

  @Test("a failing program becomes an error with its stderr")
  func fails() {
    do {
      try ProcessRunner.run("sh", ["-c", "echo broken >&2; exit 1"])
      Issue.record("no error")
    } catch let error as KazeError {
      #expect(error.cause == "broken")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test("a program that runs too long is killed")
  func timeout() {
    #expect(throws: KazeError.self) {
      try ProcessRunner.run("sleep", ["30"], timeout: .milliseconds(200))
    }
  }

  @Test("a missing program is named")
  func missing() {
    #expect(throws: KazeError.self) { try ProcessRunner.run("no-such-program-kaze", []) }
  }
}
