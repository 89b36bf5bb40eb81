import Foundation
import HTTPTypes
import HummingbirdTesting
import KazeModel
import Testing

@testable import APIServer

@Suite("Console tickets")
struct ConsoleTicketTests {
  @Test("a ticket opens one console of one VM, once, while it is fresh")
  func oneUse() async throws {
    let tickets = ConsoleTickets(lifetime: .milliseconds(300))
    let vm = UUID()
    let serial = await tickets.issue(vmID: vm, kind: .serial).token
    #expect(serial.count == 64)
    await #expect(throws: KazeError.self) {
      try await tickets.redeem(serial, vmID: vm, kind: .vnc)
    }
    // A refused try uses the ticket up too: it cannot be probed.
    await #expect(throws: KazeError.self) {
      try await tickets.redeem(serial, vmID: vm, kind: .serial)
    }
    let display = await tickets.issue(vmID: vm, kind: .vnc).token
    await #expect(throws: KazeError.self) {
      try await tickets.redeem(display, vmID: UUID(), kind: .vnc)
    }
    let fresh = await tickets.issue(vmID: vm, kind: .vnc).token
    try await tickets.redeem(fresh, vmID: vm, kind: .vnc)
    await #expect(throws: KazeError.self) {
      try await tickets.redeem(fresh, vmID: vm, kind: .vnc)
    }
    let stale = await tickets.issue(vmID: vm, kind: .serial).token
    try await Task.sleep(for: .milliseconds(400))
    await #expect(throws: KazeError.self) {
      try await tickets.redeem(stale, vmID: vm, kind: .serial)
    }
    await #expect(throws: KazeError.self) { try await tickets.redeem(nil, vmID: vm, kind: .serial) }
  }

  @Test("no ticket for a VM without a QEMU; a plain GET of a console socket says what it is")
  func refusals() async throws {
    let fixture = try await APIFixture.make()
    try await fixture.test { client in
      try await client.execute(
        uri: "/api/v1/vms", method: .post,
        body: .json(#"{"name":"vm1","image":"tiny","node":"node-a"}"#)
      ) { response throws in
        #expect(response.status == .created)
      }
      try await client.execute(uri: "/api/v1/vms/vm1/console/ticket", method: .post) {
        response throws in
        #expect(response.status == .conflict)
        let reply = try response.decode(ErrorReply.self)
        #expect(reply.message.contains("console"), "message was: \(reply.message)")
      }
      try await client.execute(uri: "/api/v1/vms/vm1/vnc/ws?ticket=x", method: .get) {
        response throws in
        #expect(response.status == .badRequest)
        let reply = try response.decode(ErrorReply.self)
        #expect(reply.message.contains("is a websocket"))
      }
      try await client.execute(uri: "/api/v1/vms/ghost/vnc/ticket", method: .post) {
        response throws in
        #expect(response.status == .notFound)
      }
    }
    await fixture.close()
  }
}
