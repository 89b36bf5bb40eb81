import APIServer
import ClusterStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import KazeModel
import Testing

@Suite("The API refuses bad input and changes nothing")
struct BadInputTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var label: String
    var body: String
    var status: HTTPResponse.Status
    var field: String?
    var message: String
    var testDescription: String { label }
  }

  static let cases: [Case] = [
    Case(
      label: "unknown image", body: #"{"name":"vm1","image":"nope"}"#, status: .badRequest,
      field: "image", message: "no image named 'nope'"),
    Case(
      label: "zero CPUs", body: #"{"name":"vm1","image":"tiny","cpus":0}"#, status: .badRequest,
      field: "cpus", message: "1 to 256 CPUs"),
    Case(
      label: "negative CPUs", body: #"{"name":"vm1","image":"tiny","cpus":-2}"#,
      status: .badRequest, field: "cpus", message: "-2 is not allowed"),
    Case(
      label: "more CPUs than any node", body: #"{"name":"vm1","image":"tiny","cpus":64}"#,
      status: .badRequest, field: "cpus", message: "more than any node has"),
    Case(
      label: "memory beyond the node", body: #"{"name":"vm1","image":"tiny","memoryMiB":999999}"#,
      status: .badRequest, field: "memoryMiB", message: "more than any node can give"),
    Case(
      label: "malformed JSON", body: #"{"name":"vm1","image":"#, status: .badRequest, field: nil,
      message: "malformed JSON"),
    Case(
      label: "unknown field", body: #"{"name":"vm1","image":"tiny","colour":"blue"}"#,
      status: .badRequest, field: "colour", message: "unknown field"),
    Case(
      label: "wrong type", body: #"{"name":"vm1","image":"tiny","memoryMiB":"lots"}"#,
      status: .badRequest, field: "memoryMiB", message: "expected an integer"),
    Case(
      label: "missing name", body: #"{"image":"tiny"}"#, status: .badRequest, field: "name",
      message: "required field is missing"),
    Case(
      label: "bad name", body: #"{"name":"My VM","image":"tiny"}"#, status: .badRequest,
      field: "name", message: "not a valid name"),
    Case(
      label: "bad disk size", body: #"{"name":"vm1","image":"tiny","disks":[{"size":"ten"}]}"#,
      status: .badRequest, field: "disks[0].size", message: "is not a size"),
    Case(
      label: "bad network", body: #"{"name":"vm1","image":"tiny","nics":[{"network":"wifi"}]}"#,
      status: .badRequest, field: "nics[0].network", message: "not a network"),
    Case(
      label: "a bridge no node has",
      body: #"{"name":"vm1","image":"tiny","nics":[{"network":"user"},{"network":"bridge:lab"}]}"#,
      status: .badRequest, field: "nics[1].network",
      message: "no node has a bridge named 'lab'; bridges: br0 (node-a)"),
    Case(
      label: "empty body", body: "", status: .badRequest, field: nil, message: "needs a JSON body"),
    Case(
      label: "replica node without a replicated disk",
      body: #"{"name":"vm1","image":"tiny","replicaNode":"node-a"}"#, status: .badRequest,
      field: "replicaNode", message: "no disk on the 'replicated' pool"),
    Case(
      label: "replica node that runs the VM",
      body: #"{"name":"vm1","image":"tiny","node":"node-a","replicaNode":"node-a"}"#,
      status: .badRequest, field: "replicaNode", message: "the secondary copy needs another node"),
  ]

  @Test("create VM refuses", arguments: cases)
  func refuses(_ testCase: Case) async throws {
    let fixture = try await APIFixture.make()
    let before = try await fixture.store.currentRevision()
    try await fixture.test { client in
      try await client.execute(uri: "/api/v1/vms", method: .post, body: .json(testCase.body)) {
        response throws in
        #expect(response.status == testCase.status)
        let reply = try response.decode(ErrorReply.self)
        #expect(reply.field == testCase.field)
        #expect(reply.message.contains(testCase.message), "message was: \(reply.message)")
        #expect(reply.code == "invalidArgument")
      }
    }
    #expect(try await fixture.store.currentRevision() == before)
    #expect(try await fixture.environment.repository.vms().isEmpty)
    await fixture.close()
  }

  @Test("a refusal names its reason and values, for clients that translate it")
  func reasons() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(
        uri: "/api/v1/vms", method: .post,
        body: .json(#"{"name":"vm1","image":"tiny","memoryMiB":8}"#)
      ) { response throws in
        let reply = try response.decode(ErrorReply.self)
        #expect(reply.reason == "memory.range")
        #expect(
          reply.values == ["value": "8", "min": "16", "max": "4194304", "field": "memoryMiB"])
      }
      try await client.execute(
        uri: "/api/v1/vms", method: .post, body: .json(#"{"name":"Bad_Name","image":"tiny"}"#)
      ) { response throws in
        let reply = try response.decode(ErrorReply.self)
        #expect(reply.reason == "name.invalid")
        #expect(reply.values?["value"] == "Bad_Name")
      }
      try await client.execute(uri: "/api/v1/vms/ghost", method: .get) { response throws in
        let reply = try response.decode(ErrorReply.self)
        #expect(reply.reason == "not-found")
        #expect(reply.values == ["kind": "VM", "name": "ghost"])
      }
    }
    await fixture.close()
  }

  @Test("a new VM gets a USB tablet unless asked not to; a bridge a node has is accepted")
  func tabletAndBridge() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      for body in [
        #"{"name":"desk","image":"tiny","nics":[{"network":"bridge:br0"}]}"#,
        #"{"name":"plain","image":"tiny","tablet":false}"#,
      ] {
        try await client.execute(uri: "/api/v1/vms", method: .post, body: .json(body)) {
          response throws in
          #expect(response.status == .created, "\(String(buffer: response.body))")
        }
      }
      let desk = try #require(try await fixture.environment.repository.vm("desk"))
      #expect(desk.spec.tablet == true)
      #expect(desk.spec.nics.map(\.kind) == [.bridge("br0")])
      #expect(try await fixture.environment.repository.vm("plain")?.spec.tablet == false)
    }
    await fixture.close()
  }

  @Test("a duplicate name is a 409 and the first VM is untouched")
  func duplicate() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(
        uri: "/api/v1/vms", method: .post, body: .json(#"{"name":"web","image":"tiny","cpus":2}"#)
      ) { response throws in
        #expect(response.status == .created)
      }
      let before = try await fixture.store.currentRevision()
      try await client.execute(
        uri: "/api/v1/vms", method: .post, body: .json(#"{"name":"web","image":"tiny","cpus":1}"#)
      ) { response throws in
        #expect(response.status == .conflict)
        let reply = try response.decode(ErrorReply.self)
        #expect(reply.code == "alreadyExists")
        #expect(reply.field == "name")
      }
      #expect(try await fixture.store.currentRevision() == before)
      let vm = try #require(try await fixture.environment.repository.vm("web"))
      #expect(vm.spec.cpus == 2)
    }
    await fixture.close()
  }

  @Test("unknown VMs and routes are JSON 404s")
  func notFound() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(uri: "/api/v1/vms/ghost", method: .get) { response throws in
        #expect(response.status == .notFound)
        #expect(try response.decode(ErrorReply.self).message == "VM 'ghost' not found")
      }
      try await client.execute(uri: "/api/v1/vms/ghost/start", method: .post) { response throws in
        #expect(response.status == .notFound)
      }
      try await client.execute(uri: "/api/v1/nothing-here", method: .get) { response throws in
        #expect(response.status == .notFound)
        #expect(try response.decode(ErrorReply.self).code == "notFound")
      }
    }
    await fixture.close()
  }

  @Test("an action that does not fit the VM's state is a 409")
  func invalidState() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(
        uri: "/api/v1/vms", method: .post, body: .json(#"{"name":"web","image":"tiny"}"#)
      ) { _ in }
      let before = try await fixture.store.currentRevision()
      for action in ["pause", "reboot", "resume"] {
        try await client.execute(uri: "/api/v1/vms/web/\(action)", method: .post) {
          response throws in
          #expect(response.status == .conflict)
          #expect(try response.decode(ErrorReply.self).code == "invalidState")
        }
      }
      #expect(try await fixture.store.currentRevision() == before)
    }
    await fixture.close()
  }

  @Test("recover refuses bad bodies and VMs without replicated disks, changing nothing")
  func recover() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(
        uri: "/api/v1/vms", method: .post, body: .json(#"{"name":"web","image":"tiny"}"#)
      ) { _ in }
      let before = try await fixture.store.currentRevision()
      try await client.execute(
        uri: "/api/v1/vms/web/recover", method: .post, body: .json(#"{"acceptDataLoss":"yes"}"#)
      ) { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).field == "acceptDataLoss")
      }
      try await client.execute(
        uri: "/api/v1/vms/web/recover", method: .post, body: .json(#"{"force":true}"#)
      ) { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).field == "force")
      }
      try await client.execute(
        uri: "/api/v1/vms/web/recover", method: .post, body: .json(#"{"acceptDataLoss":true}"#)
      ) { response throws in
        #expect(response.status == .conflict)
        #expect(
          try response.decode(ErrorReply.self).message.contains("no disk on the replicated pool"))
      }
      try await client.execute(
        uri: "/api/v1/vms/ghost/recover", method: .post, body: .json("{}")
      ) { response throws in
        #expect(response.status == .notFound)
      }
      #expect(try await fixture.store.currentRevision() == before)
    }
    await fixture.close()
  }

  @Test("bad query parameters and PATCH bodies are refused")
  func badQueryAndPatch() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(
        uri: "/api/v1/vms", method: .post, body: .json(#"{"name":"web","image":"tiny"}"#)
      ) { _ in }
      let before = try await fixture.store.currentRevision()
      try await client.execute(uri: "/api/v1/vms?phase=flying", method: .get) { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).field == "phase")
      }
      try await client.execute(uri: "/api/v1/events?limit=0", method: .get) { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).field == "limit")
      }
      try await client.execute(uri: "/api/v1/vms/web", method: .patch, body: .json(#"{"cpus":0}"#))
      { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).field == "cpus")
      }
      try await client.execute(
        uri: "/api/v1/vms/web", method: .patch, body: .json(#"{"disk":"1G"}"#)
      ) { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).field == "disk")
      }
      try await client.execute(
        uri: "/api/v1/vms/web/disks", method: .post, body: .json(#"{"size":"0"}"#)
      ) { response throws in
        #expect(response.status == .badRequest)
      }
      try await client.execute(
        uri: "/api/v1/images", method: .post, body: .json(#"{"name":"x","kernel":"relative/path"}"#)
      ) { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).field == "kernel")
      }
      try await client.execute(
        uri: "/api/v1/images", method: .post, body: .json(#"{"name":"x","kernel":"/no/such/file"}"#)
      ) { response throws in
        #expect(response.status == .badRequest)
        #expect(try response.decode(ErrorReply.self).message.contains("no file at /no/such/file"))
      }
      #expect(try await fixture.store.currentRevision() == before)
    }
    await fixture.close()
  }

  @Test("a valid VM is created stopped with a stable MAC and a placement pending")
  func created() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(
        uri: "/api/v1/vms", method: .post,
        body: .json(
          #"{"name":"web","image":"tiny","cpus":2,"memoryMiB":512,"disks":[{"size":"1G"}],"cmdline":"quiet"}"#
        )
      ) { response throws in
        #expect(response.status == .created)
        let view = try response.decode(VMView.self)
        #expect(view.vm.desired == .stopped)
        #expect(view.vm.spec.disks.map(\.sizeBytes) == [1 << 30])
        #expect(view.vm.spec.nics.first?.mac.hasPrefix("52:54:00:") == true)
        guard case .kernel(let boot) = view.vm.spec.boot else {
          Issue.record("expected a kernel boot")
          return
        }
        #expect(boot.cmdline == "console=ttyS0 quiet")
      }
    }
    let events = try await fixture.environment.repository.events()
    #expect(events.contains { $0.kind == "vm.created" && $0.vm == "web" })
    await fixture.close()
  }
}
