import Foundation
import XCTest
@testable import MiniMindFormats

/// Locates Tests/Fixtures/checkpoints and decodes manifest.json (written by
/// Scripts/gen_checkpoint_fixtures.py from torch / safetensors / numpy).
enum CheckpointFixtures {
    static let folder: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("Fixtures/checkpoints")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "/nonexistent/Tests/Fixtures/checkpoints")
    }()

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    static let manifest: JSONValue = (try? JSONValue.load(url("manifest.json"))) ?? .null

    static func bytes(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }

    static func dtype(torchName: String) -> DType? {
        ["float32": .f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64, "int64": .i64, "int32": .i32,
         "int16": .i16, "int8": .i8, "uint8": .u8, "bool": .bool][torchName]
    }

    /// Asserts `t` equals a manifest tensor entry exactly: dtype, shape, and values (floats as
    /// Float32 bit patterns after torch's `.float()`, integers as decimal strings).
    static func assertTensor(_ t: TensorData?, equals entry: JSONValue?, _ name: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard let t, let entry else { return XCTFail("\(name): missing tensor or manifest entry", file: file, line: line) }
        XCTAssertEqual(t.dtype, entry["dtype"]?.stringValue.flatMap(dtype(torchName:)), "\(name) dtype", file: file, line: line)
        XCTAssertEqual(t.shape, entry["shape"]?.arrayValue?.compactMap(\.intValue), "\(name) shape", file: file, line: line)
        if let bits = entry["f32bits"]?.arrayValue {
            guard let values = try? t.toTensor().toArray() else { return XCTFail("\(name): toTensor threw", file: file, line: line) }
            // Exact bits, except that any NaN matches any NaN: torch's own conversion paths disagree on
            // NaN payloads (f16 0x7E00 widens to 0x7FFFFFFF in torch, to 0x7FC00000 in IEEE).
            let expected = bits.compactMap { $0.intValue.map { Float(bitPattern: UInt32($0)) } }
            let same = values.count == expected.count && zip(values, expected).allSatisfy {
                $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN)
            }
            XCTAssertTrue(same, "\(name) values: \(values) vs torch \(expected)", file: file, line: line)
        } else if let ints = entry["ints"]?.arrayValue {
            XCTAssertEqual(try? t.int64Values(), ints.compactMap { $0.stringValue.flatMap { Int64($0) } }, "\(name) values", file: file, line: line)
        } else {
            XCTFail("\(name): manifest entry has no values", file: file, line: line)
        }
    }

    /// Compares a decoded pickle tree with the manifest's description of the saved Python object.
    static func assertTree(_ v: PickleValue, equals m: JSONValue, _ path: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        if let entry = m["tensor"] {
            assertTensor(v.tensorValue, equals: entry, path, file: file, line: line)
        } else if let pairs = m["dict"]?.arrayValue {
            guard let items = v.dictEntries, items.count == pairs.count else {
                return XCTFail("\(path): expected a dict of \(pairs.count) items, got \(v)", file: file, line: line)
            }
            for (item, pair) in zip(items, pairs) {
                guard let kv = pair.arrayValue, kv.count == 2 else { return XCTFail("bad manifest pair") }
                assertTree(item.key, equals: kv[0], path + ".key", file: file, line: line)
                assertTree(item.value, equals: kv[1], path + "[\(item.key)]", file: file, line: line)
            }
        } else if let list = m["list"]?.arrayValue ?? m["tuple"]?.arrayValue {
            let isTuple = m["tuple"] != nil
            guard let items = v.arrayValue, items.count == list.count else {
                return XCTFail("\(path): expected \(list.count) items, got \(v)", file: file, line: line)
            }
            if isTuple, case .list = v { XCTFail("\(path): expected a tuple", file: file, line: line) }
            for (i, (a, b)) in zip(items, list).enumerated() { assertTree(a, equals: b, path + "[\(i)]", file: file, line: line) }
        } else if let s = m["int"]?.stringValue {
            XCTAssertEqual(integerString(v), s, path, file: file, line: line)
        } else if let d = m["float"]?.doubleValue {
            XCTAssertEqual(v.doubleValue.map(\.bitPattern), d.bitPattern, path, file: file, line: line)
            if case .float = v {} else { XCTFail("\(path): expected a float", file: file, line: line) }
        } else if let s = m["string"]?.stringValue {
            XCTAssertEqual(v.stringValue, s, path, file: file, line: line)
        } else if let b = m["bool"]?.boolValue {
            XCTAssertEqual(v.boolValue, b, path, file: file, line: line)
        } else if m["none"] != nil {
            if case .none = v {} else { XCTFail("\(path): expected None, got \(v)", file: file, line: line) }
        } else {
            XCTFail("\(path): unknown manifest node \(m)", file: file, line: line)
        }
    }

    /// Decimal text of an int or big int (two's complement little-endian bytes).
    static func integerString(_ v: PickleValue) -> String? {
        switch v {
        case let .int(i): return String(i)
        case let .bigInt(raw):
            let negative = (raw.last ?? 0) & 0x80 != 0
            var mag = raw
            if negative {  // two's complement negate
                var carry = 1
                for i in mag.indices { let x = Int(~mag[i]) + carry; mag[i] = UInt8(x & 0xFF); carry = x >> 8 }
            }
            var digits: [Character] = []
            var limbs = mag.reversed().map { Int($0) }  // big-endian base-256
            while limbs.contains(where: { $0 != 0 }) {
                var rem = 0
                for i in limbs.indices { let cur = rem * 256 + limbs[i]; limbs[i] = cur / 10; rem = cur % 10 }
                digits.append(Character(String(rem)))
            }
            return (negative ? "-" : "") + (digits.isEmpty ? "0" : String(digits.reversed()))
        default: return nil
        }
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "checkpoint fixtures not found at \(folder.path); run Scripts/gen_checkpoint_fixtures.py" }
    }

    /// The fixtures are committed: their absence is a failure, not a skip.
    static func require() throws {
        guard FileManager.default.fileExists(atPath: url("manifest.json").path) else { throw Missing() }
    }
}
