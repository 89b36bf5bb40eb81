import QMP

/// The first event called `name` on `stream`, or `nil` if the stream finishes or `timeout`
/// passes first. (Waiting ends `stream`: use a fresh one per wait.)
func firstEvent(
  named name: String, in stream: AsyncStream<QMPEvent>, timeout: Duration = .seconds(30)
) async -> QMPEvent? {
  await withTaskGroup(of: QMPEvent?.self) { group in
    group.addTask {
      for await event in stream where event.name == name {
        return event
      }
      return nil
    }
    group.addTask {
      try? await Task.sleep(for: timeout)
      return nil
    }
    let first = await group.next() ?? nil
    group.cancelAll()
    return first
  }
}

/// All events left on `stream` once it finishes, or `nil` if it has not finished within
/// `timeout`.
func remainingEvents(
  in stream: AsyncStream<QMPEvent>, timeout: Duration = .seconds(30)
) async -> [QMPEvent]? {
  await withTaskGroup(of: [QMPEvent]?.self) { group in
    group.addTask {
      var events: [QMPEvent] = []
      for await event in stream {
        events.append(event)
      }
      // Cancellation also ends the loop; only a real finish counts.
      return Task.isCancelled ? nil : events
    }
    group.addTask {
      try? await Task.sleep(for: timeout)
      return nil
    }
    let first = await group.next() ?? nil
    group.cancelAll()
    return first
  }
}
