import Foundation
import XCTest
import MiniMindFormats

/// Locates Tests/Fixtures/parquet and decodes the expected-rows manifests the generator script
/// writes from pyarrow's reader (see Scripts/gen_parquet_fixtures.py for the value encoding).
enum ParquetFixtures {
    static let directory: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            let candidate = url.appendingPathComponent("Fixtures/parquet")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/parquet")
    }()

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name + ".parquet") }

    static let generic: [String] = ["none", "snappy", "zstd"].flatMap { codec in
        ["dict", "plain"].flatMap { dictionary in ["v1", "v2"].map { "generic_\(codec)_\(dictionary)_\($0)" } }
    } + ["generic_dict_fallback", "generic_format1_dict", "all_null_zstd_v2", "all_null_snappy_v1"]
    static let miniMind = ["minimind_v_single", "minimind_v_multi", "minimind_v_text_only"]
    static var all: [String] { generic + miniMind }

    struct Manifest {
        let numRows: Int
        let numRowGroups: Int
        let codecs: [String]
        let encodings: [String]
        let columns: [(name: String, type: String)]
        let rows: [[String: Any]]
    }

    static func manifest(_ name: String) throws -> Manifest {
        let data = try Data(contentsOf: directory.appendingPathComponent(name + ".expected.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let numRows = root["num_rows"] as? Int, let groups = root["num_row_groups"] as? Int,
              let codecs = root["codecs"] as? [String], let encodings = root["encodings"] as? [String],
              let columns = root["columns"] as? [[String: String]], let rows = root["rows"] as? [[String: Any]] else {
            throw NSError(domain: "ParquetFixtures", code: 1, userInfo: [NSLocalizedDescriptionKey: "bad manifest \(name)"])
        }
        return Manifest(numRows: numRows, numRowGroups: groups, codecs: codecs, encodings: encodings,
                        columns: columns.map { ($0["name"] ?? "", $0["type"] ?? "") }, rows: rows)
    }

    struct ManifestError: Error, CustomStringConvertible { let description: String }

    /// Turns one manifest cell into the value the reader should produce.
    static func expectedValue(_ json: Any?, type: String) throws -> ParquetValue {
        guard let json, !(json is NSNull) else { return .null }
        if type.hasPrefix("list<") {
            let inner = String(type.dropFirst(5).dropLast())
            guard let items = json as? [Any] else { throw ManifestError(description: "expected a list for \(type)") }
            return .list(try items.map { try expectedValue($0, type: inner) })
        }
        switch type {
        case "string":
            guard let text = json as? String else { break }
            return .bytes(Array(text.utf8))
        case "binary":
            guard let text = json as? String, let data = Data(base64Encoded: text) else { break }
            return .bytes(Array(data))
        case "bool":
            guard let flag = json as? Bool else { break }
            return .bool(flag)
        case "int32":
            guard let number = json as? NSNumber else { break }
            return .int32(number.int32Value)
        case "int64":
            guard let text = json as? String, let value = Int64(text) else { break }
            return .int64(value)
        case "float":
            guard let text = json as? String, let bits = UInt32(text, radix: 16) else { break }
            return .float(Float(bitPattern: bits))
        case "double":
            guard let text = json as? String, let bits = UInt64(text, radix: 16) else { break }
            return .double(Double(bitPattern: bits))
        default: break
        }
        throw ManifestError(description: "cannot decode \(json) as \(type)")
    }

    /// Reads every row of a file with all its columns (used by the fuzz test too).
    @discardableResult
    static func readAll(_ url: URL, columns: [String]? = nil) throws -> Int {
        try readAll(try ParquetReader(url: url), columns: columns)
    }

    @discardableResult
    static func readAll(_ reader: ParquetReader, columns: [String]? = nil) throws -> Int {
        let rows = try reader.rows(columns: columns)
        var count = 0
        while let row = try rows.next() {
            count += 1
            _ = row
        }
        return count
    }
}

/// Bit-exact comparison (so NaN, -0.0 and infinities compare by their encoding).
func parquetValuesIdentical(_ a: ParquetValue, _ b: ParquetValue) -> Bool {
    switch (a, b) {
    case let (.float(x), .float(y)): return x.bitPattern == y.bitPattern
    case let (.double(x), .double(y)): return x.bitPattern == y.bitPattern
    case let (.list(x), .list(y)): return x.count == y.count && zip(x, y).allSatisfy { parquetValuesIdentical($0, $1) }
    default: return a == b
    }
}
