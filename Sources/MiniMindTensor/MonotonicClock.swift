import Dispatch

/// Seconds on the system's monotonic clock (uptime: it never jumps when the wall clock is set), the
/// one clock behind every duration the SDK measures: generation and evaluation stats, the demo's
/// phases, the benchmarks. Only the difference of two readings means anything.
@inline(__always) public func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
