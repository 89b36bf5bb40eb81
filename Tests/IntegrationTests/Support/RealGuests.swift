import Testing

/// Every suite that starts real kazed processes and QEMU guests runs inside this one, one test
/// at a time: on a two-core machine, parallel clusters of TCG guests would starve each other's
/// timers and turn timing margins into flakes.
@Suite("Real kazed nodes and QEMU guests", .serialized)
enum RealGuests {}
