/// A reference entry a test needs is absent from its fixture file: a failure, never a skip.
struct FixtureMissing: Error, CustomStringConvertible {
    let name: String, script: String
    var description: String { "fixture entry \(name) is missing; rerun \(script)" }
}
