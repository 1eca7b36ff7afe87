/// The check ops use for programming errors (ids, targets, shapes produced by our own code; user input
/// throws long before it reaches an op). It is `precondition`, which stays on in `-O` release builds:
/// these checks guard raw-pointer reads and writes, so the package must never be built `-Ounchecked`.
@inline(__always)
func opRequire(_ condition: Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    precondition(condition, message(), file: file, line: line)
}
