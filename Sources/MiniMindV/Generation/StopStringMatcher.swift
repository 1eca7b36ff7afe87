import Foundation

/// Watches streamed text for stop strings. Text that could still be the start of a stop string is
/// held back, so nothing of a stop string is ever shown. Works on UTF-8 bytes: pieces arrive as
/// whole characters and stop strings are valid UTF-8, so every cut lands on a character boundary.
struct StopStringMatcher {
    let stops: [[UInt8]]
    private var pending: [UInt8] = []
    private(set) var stopped = false

    init(_ stopStrings: [String]) { stops = stopStrings.map { Array($0.utf8) }.filter { !$0.isEmpty } }

    /// Adds a piece; returns the text now safe to show. After a stop is found, returns the text
    /// before it and sets `stopped`.
    mutating func feed(_ piece: String) -> String {
        if stops.isEmpty { return piece }
        guard !stopped else { return "" }
        pending.append(contentsOf: piece.utf8)
        if let cut = firstMatch() {
            stopped = true
            let text = String(decoding: pending[..<cut], as: UTF8.self)
            pending.removeAll()
            return text
        }
        let keep = heldBack()
        let text = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// The held-back text at the end of the stream (it never became a stop string).
    mutating func finish() -> String {
        defer { pending.removeAll() }
        return stopped ? "" : String(decoding: pending, as: UTF8.self)
    }

    private func firstMatch() -> Int? {
        var best: Int?
        for stop in stops where stop.count <= pending.count {
            var i = 0
            while i + stop.count <= pending.count, best.map({ i < $0 }) ?? true {
                if pending[i] == stop[0] && pending[i..<(i + stop.count)].elementsEqual(stop) { best = i; break }
                i += 1
            }
        }
        return best
    }

    /// Length of the longest end of `pending` that begins some stop string.
    private func heldBack() -> Int {
        var keep = 0
        for stop in stops {
            var k = min(stop.count - 1, pending.count)
            while k > keep {
                if pending[(pending.count - k)...].elementsEqual(stop[..<k]) { keep = k; break }
                k -= 1
            }
        }
        return keep
    }
}
