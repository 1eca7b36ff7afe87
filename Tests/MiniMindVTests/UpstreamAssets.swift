import Foundation
import XCTest
@testable import MiniMindV

/// The upstream tokenizer files and eval images committed under Tests/Fixtures/upstream (see its
/// NOTICE.md), so that every test runs the same in a fresh clone.
enum UpstreamAssets {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/upstream")

    /// `minimind2-v` or `minimind-3v`.
    static func generation(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static func tokenizer(_ name: String) throws -> Tokenizer { try Tokenizer(contentsOf: generation(name)) }
}
