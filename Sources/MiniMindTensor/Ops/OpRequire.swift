/// A precondition that stays on in optimised builds. MiniMindTensor compiles with `-Ounchecked`, which
/// removes `precondition`; index checks guard raw-pointer reads and writes, so they must never vanish.
/// Use it for programming errors only (ids, targets, shapes produced by our own code); user input throws.
@inline(__always)
func opRequire(_ condition: Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if _slowPath(!condition) { fatalError(message(), file: file, line: line) }
}
