/// Bounds how many expensive fixtures (etcd clusters, kazed nodes) tests run at once, so that
/// parallel tests on a two-core machine do not starve each other's timers.
public actor Limiter {
  private let limit: Int
  private var running = 0
  private var waiting: [CheckedContinuation<Void, Never>] = []

  public init(_ limit: Int) {
    self.limit = limit
  }

  /// At most two etcd clusters at a time across the whole test process.
  public static let etcd = Limiter(2)

  public func acquire() async {
    if running < limit {
      running += 1
      return
    }
    await withCheckedContinuation { waiting.append($0) }
  }

  public func release() {
    if waiting.isEmpty {
      running -= 1
    } else {
      waiting.removeFirst().resume()
    }
  }
}
